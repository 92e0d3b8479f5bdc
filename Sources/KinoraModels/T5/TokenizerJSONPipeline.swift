import Foundation
import KinoraFormats

/// A Hugging Face `tokenizer.json` with a `Unigram` model, encoding one sequence as tokenizers'
/// `Tokenizer::encode` does: added tokens cut out of the raw input, each stretch between them normalized and
/// pre-tokenized, each word segmented by the model, and the `TemplateProcessing` post-processor's special tokens
/// placed around the result. The file's own `truncation` and `padding` are not applied (callers such as transformers
/// pass their own), nor is the `decoder` read.
struct TokenizerJSONPipeline: Sendable {
    /// One element of the post-processor's single-sequence template.
    enum TemplatePiece: Equatable, Sendable {
        case sequence
        case special([Int])
    }

    let addedTokens: AddedTokenSplitter
    let normalizer: TokenizerNormalizer?
    let preTokenizer: TokenizerPreTokenizer?
    let model: UnigramModel
    let template: [TemplatePiece]

    /// The largest `tokenizer.json` accepted (UMT5's is about 16 MB).
    static let maximumFileSize = 256 << 20

    init(data: Data, file: String) throws(T5TokenizerError) {
        guard data.count <= Self.maximumFileSize else {
            throw .tooLarge(file: file, size: data.count, limit: Self.maximumFileSize)
        }
        let document: JSONValue
        do {
            document = try JSONDocument.parse([UInt8](data))
        } catch let error as JSONSyntaxError {
            throw .malformed(file: file, field: "byte \(error.offset)", reason: error.reason)
        } catch {
            throw .malformed(file: file, field: "JSON", reason: "\(error)")
        }
        let root = TokenizerJSONField(value: document, path: "", file: file)
        addedTokens = try AddedTokenSplitter(try root.member("added_tokens"))
        normalizer = try root.member("normalizer").flatMap { field throws(T5TokenizerError) in
            field.isNull ? nil : try TokenizerNormalizer(field)
        }
        preTokenizer = try root.member("pre_tokenizer").flatMap { field throws(T5TokenizerError) in
            field.isNull ? nil : try TokenizerPreTokenizer(field)
        }
        model = try Self.unigram(try root.required("model"))
        template = try Self.template(try root.member("post_processor"))
    }

    private static func unigram(_ field: TokenizerJSONField) throws(T5TokenizerError) -> UnigramModel {
        let type = try field.member("type")?.string() ?? "Unigram"
        guard type == "Unigram" else {
            throw field.unsupported("a '\(type)' model; T5-family tokenizers are Unigram models")
        }
        var vocabulary: [(piece: String, score: Double)] = []
        for entry in try field.required("vocab").array() {
            let pair = try entry.array()
            guard pair.count == 2 else { throw entry.malformed("expected [piece, score]") }
            let piece = try pair[0].string()
            guard !piece.isEmpty else { throw pair[0].malformed("a piece must not be empty") }
            vocabulary.append((piece, try pair[1].double()))
        }
        guard !vocabulary.isEmpty else { throw field.malformed("the vocabulary is empty") }
        guard let unknownField = try field.member("unk_id"), !unknownField.isNull else {
            throw field.unsupported("a Unigram model without unk_id")
        }
        let unknownID = try unknownField.integer()
        guard vocabulary.indices.contains(unknownID) else {
            throw unknownField.malformed("unk_id \(unknownID) is outside the \(vocabulary.count) pieces")
        }
        return UnigramModel(
            vocabulary: vocabulary, unknownID: unknownID,
            byteFallback: try field.flag("byte_fallback", default: false))
    }

    private static func template(_ field: TokenizerJSONField?) throws(T5TokenizerError) -> [TemplatePiece] {
        guard let field, !field.isNull else { return [.sequence] }
        let type = try field.componentType()
        guard type == "TemplateProcessing" else {
            throw field.unsupported("the post-processor '\(type)'; T5-family files use TemplateProcessing")
        }
        var specials: [String: [Int]] = [:]
        if let map = try field.member("special_tokens") {
            guard case .object(let members) = map.value else { throw map.malformed("expected an object") }
            for (key, _) in members {
                let entry = try map.required(key)
                specials[key] = try entry.required("ids").array().map { id throws(T5TokenizerError) in
                    try id.integer()
                }
            }
        }
        var pieces: [TemplatePiece] = []
        for item in try field.required("single").array() {
            if let sequence = try item.member("Sequence") {
                guard try sequence.required("id").string() == "A" else {
                    throw sequence.malformed("a single-sequence template can only hold sequence A")
                }
                pieces.append(.sequence)
            } else if let special = try item.member("SpecialToken") {
                let name = try special.required("id").string()
                guard let ids = specials[name] else {
                    throw special.malformed("the special token '\(name)' is not in special_tokens")
                }
                pieces.append(.special(ids))
            } else {
                throw item.malformed("expected a Sequence or a SpecialToken")
            }
        }
        guard pieces.filter({ $0 == .sequence }).count == 1 else {
            throw field.malformed("the single template must hold the sequence exactly once")
        }
        return pieces
    }

    /// The ids of `text` without the template's special tokens.
    func ids(_ text: String) -> [Int] {
        var ids: [Int] = []
        for part in addedTokens.split(text) {
            switch part {
            case .token(let id):
                ids.append(id)
            case .text(let stretch, let offset):
                let normalized = normalizer?.normalize(stretch) ?? stretch
                guard !normalized.isEmpty else { continue }
                let start = [TokenizerPreTokenizer.Word(text: normalized, startsInput: offset == 0)]
                for word in preTokenizer?.split(start) ?? start {
                    ids += model.ids(word.text)
                }
            }
        }
        return ids
    }
}
