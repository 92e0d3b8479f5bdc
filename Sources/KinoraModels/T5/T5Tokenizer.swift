import Foundation

/// The ids and attention mask of one prompt, padded to a fixed length: what transformers returns for
/// `tokenizer(prompt, padding="max_length", max_length=N, truncation=True, add_special_tokens=True,
/// return_attention_mask=True)`.
public struct T5Encoding: Equatable, Sendable {
    /// The token ids, `</s>` after the prompt's, then `<pad>` up to the length.
    public let ids: [Int]
    /// 1 for the prompt's ids and `</s>`, 0 for padding.
    public let attentionMask: [Int]

    /// How many ids are not padding (diffusers' `seq_lens`).
    public var length: Int { attentionMask.reduce(0, +) }
}

/// The SentencePiece unigram tokenizer of T5-family text encoders (T5, mT5, UMT5-XXL for Wan), loaded from either
/// file a model folder ships: a Hugging Face `tokenizer.json` (encoding as the `tokenizers` library, which
/// transformers' `T5TokenizerFast` and diffusers' Wan pipelines use) or SentencePiece's `spiece.model` (encoding as
/// the `sentencepiece` library, followed by `</s>` as T5's tokenizers add it). The two libraries differ on a few
/// inputs — text spelling a special token such as `</s>`, and grapheme clusters that tokenizers normalizes whole — and
/// each backend follows its own library.
public struct T5Tokenizer: Sendable {
    /// The sequence length Wan's pipelines pad and truncate prompts to (`max_sequence_length=512`).
    public static let wanMaximumLength = 512

    private enum Backend: Sendable {
        case tokenizers(TokenizerJSONPipeline)
        case sentencePiece(SentencePieceProcessor)
    }

    private let backend: Backend
    /// The id of `</s>`, appended to every sequence.
    public let eosTokenID: Int
    /// The id of `<pad>`, which fills a padded encoding.
    public let padTokenID: Int
    /// The id of `<unk>`.
    public let unknownTokenID: Int
    /// The special ids the template puts around a sequence, before and after it.
    private let prefix: [Int]
    private let suffix: [Int]

    /// Reads a `tokenizer.json`. `file` names it in errors.
    public init(tokenizerJSON data: Data, file: String = "tokenizer.json") throws(T5TokenizerError) {
        let pipeline = try TokenizerJSONPipeline(data: data, file: file)
        func id(_ token: String) throws(T5TokenizerError) -> Int {
            guard let id = pipeline.addedTokens.id(of: token) ?? pipeline.model.id(of: token) else {
                throw .malformed(file: file, field: "model.vocab", reason: "there is no token '\(token)'")
            }
            return id
        }
        backend = .tokenizers(pipeline)
        eosTokenID = try id("</s>")
        padTokenID = try id("<pad>")
        unknownTokenID = pipeline.model.unknownID
        let sequence = pipeline.template.firstIndex(of: .sequence) ?? 0
        func specials(_ pieces: ArraySlice<TokenizerJSONPipeline.TemplatePiece>) -> [Int] {
            pieces.flatMap { piece -> [Int] in
                if case .special(let ids) = piece { return ids }
                return []
            }
        }
        prefix = specials(pipeline.template[..<sequence])
        suffix = specials(pipeline.template[(sequence + 1)...])
    }

    /// Reads a SentencePiece `spiece.model`. `file` names it in errors. T5's `</s>` follows every sequence.
    public init(sentencePieceModel data: Data, file: String = "spiece.model") throws(T5TokenizerError) {
        let processor = try SentencePieceProcessor(data: data, file: file)
        func id(_ piece: String) throws(T5TokenizerError) -> Int {
            guard let id = processor.id(of: piece) else {
                throw .malformed(file: file, field: "ModelProto.pieces", reason: "there is no piece '\(piece)'")
            }
            return id
        }
        backend = .sentencePiece(processor)
        eosTokenID = try id("</s>")
        padTokenID = try id("<pad>")
        unknownTokenID = processor.model.unknownID
        prefix = []
        suffix = [eosTokenID]
    }

    /// Reads a model's tokenizer folder (diffusers' `tokenizer/`): its `tokenizer.json` when there is one, as
    /// transformers prefers it, otherwise its `spiece.model`.
    public init(folder: URL) throws(T5TokenizerError) {
        for name in ["tokenizer.json", "spiece.model"] {
            let url = folder.appending(path: name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw .unreadable(file: url.path, reason: error.localizedDescription)
            }
            if name == "tokenizer.json" {
                try self.init(tokenizerJSON: data, file: url.path)
            } else {
                try self.init(sentencePieceModel: data, file: url.path)
            }
            return
        }
        throw .unreadable(file: folder.path, reason: "neither tokenizer.json nor spiece.model is there")
    }

    /// The ids of `text` without special tokens, untruncated.
    public func contentIDs(_ text: String) -> [Int] {
        switch backend {
        case .tokenizers(let pipeline): return pipeline.ids(text)
        case .sentencePiece(let processor): return processor.ids(text)
        }
    }

    /// The ids of `text` with `</s>` (and any other special token of the template), untruncated.
    public func ids(_ text: String) -> [Int] {
        prefix + contentIDs(text) + suffix
    }

    /// Exactly `maximumLength` ids and mask values: the text's ids truncated so the special tokens still fit, the
    /// special tokens, then `<pad>` with mask 0, as transformers pads and truncates on the right.
    public func encode(_ text: String, maximumLength: Int = T5Tokenizer.wanMaximumLength) -> T5Encoding {
        precondition(maximumLength >= prefix.count + suffix.count, "the special tokens alone are longer")
        let content = contentIDs(text).prefix(maximumLength - prefix.count - suffix.count)
        let ids = prefix + content + suffix
        let padding = maximumLength - ids.count
        return T5Encoding(
            ids: ids + Array(repeating: padTokenID, count: padding),
            attentionMask: Array(repeating: 1, count: ids.count) + Array(repeating: 0, count: padding))
    }
}
