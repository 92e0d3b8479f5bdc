import Foundation

/// CLIP's byte-level BPE tokenizer, loaded from a diffusers `tokenizer/` folder (`vocab.json`, `merges.txt`, and
/// optionally `tokenizer_config.json` / `special_tokens_map.json`). Produces the ids transformers' `CLIPTokenizer`
/// (transformers 5, as diffusers' pipelines load it) produces: BOS 49406, the text's tokens, EOS 49407, then padding
/// to 77 with EOS (SD1 `tokenizer`) or with `!` id 0 (SDXL `tokenizer_2`, as its `special_tokens_map.json` says).
/// As in transformers, a pad token that is not BOS/EOS becomes a special token too: SDXL's `tokenizer_2` turns every
/// `!` in a prompt into id 0 (ComfyUI's own SDXL tokenizer does not).
public struct CLIPTokenizer: Sendable {
    /// The context length of CLIP text encoders.
    public static let defaultMaximumLength = 77

    public let bosTokenID: Int
    public let eosTokenID: Int
    public let padTokenID: Int
    /// Sequence length including BOS and EOS (`model_max_length`).
    public let maximumLength: Int
    let vocabulary: [String: Int]
    private let encoding: BytePairEncoding
    /// Texts split out of the input before normalization and mapped straight to their ids.
    private let specialTokens: [String]

    /// Builds a tokenizer from the contents of `vocab.json` and `merges.txt`. Special tokens default to CLIP's
    /// `<|startoftext|>`, `<|endoftext|>` and padding with `<|endoftext|>`. `merges.txt` is read as transformers
    /// does: after its header line, at most 48 894 merges (49 408 − 512 − 2).
    public init(
        vocabularyJSON: Data, merges: Data, padToken: String = "<|endoftext|>",
        maximumLength: Int = CLIPTokenizer.defaultMaximumLength, vocabularyFile: String = "vocab.json",
        mergesFile: String = "merges.txt"
    ) throws {
        guard let object = try? JSONSerialization.jsonObject(with: vocabularyJSON),
            let entries = object as? [String: Any]
        else {
            throw TokenizerError.malformedVocabulary(file: vocabularyFile, reason: "not a JSON object")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(entries.count)
        for (token, value) in entries {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0 else {
                throw TokenizerError.malformedVocabulary(
                    file: vocabularyFile, reason: "id of '\(token)' is not an integer")
            }
            vocabulary[token] = id
        }
        try self.init(vocabulary: vocabulary, pairs: Self.mergePairs(merges, file: mergesFile), padToken: padToken,
                      maximumLength: maximumLength, vocabularyFile: vocabularyFile)
    }

    /// Builds a tokenizer from CLIP's merge list alone: OpenAI's and OpenCLIP's `bpe_simple_vocab_16e6.txt` (or a
    /// tokenizer folder's `merges.txt`, which holds the same lines). The vocabulary is derived as OpenAI's
    /// `SimpleTokenizer` derives it: the 256 byte symbols, the same with `</w>`, one token per merge, then
    /// `<|startoftext|>` and `<|endoftext|>`; for CLIP's merges these are exactly the 49 408 ids of transformers'
    /// `vocab.json`.
    public init(bpeMerges: Data, padToken: String = "<|endoftext|>",
                maximumLength: Int = CLIPTokenizer.defaultMaximumLength,
                mergesFile: String = "bpe_simple_vocab_16e6.txt") throws {
        let pairs = try Self.mergePairs(bpeMerges, file: mergesFile)
        try self.init(vocabulary: Self.derivedVocabulary(pairs), pairs: pairs, padToken: padToken,
                      maximumLength: maximumLength, vocabularyFile: mergesFile)
    }

    private init(vocabulary: [String: Int], pairs: [(String, String)], padToken: String, maximumLength: Int,
                 vocabularyFile: String) throws {
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[token] else {
                throw TokenizerError.missingToken(file: vocabularyFile, token: token)
            }
            return id
        }
        bosTokenID = try id("<|startoftext|>")
        eosTokenID = try id("<|endoftext|>")
        padTokenID = try id(padToken)
        guard maximumLength >= 2 else {
            throw TokenizerError.malformedConfiguration(
                file: vocabularyFile, reason: "maximum length \(maximumLength) leaves no room for BOS and EOS")
        }
        self.maximumLength = maximumLength
        self.vocabulary = vocabulary
        encoding = BytePairEncoding(merges: pairs)
        let standard = CLIPPreTokenizer.specialTokens
        specialTokens = standard + (standard.contains(padToken) ? [] : [padToken])
    }

    /// The merge pairs of a merges file: after its header line, at most 48 894 (49 408 − 512 − 2), as both
    /// transformers and OpenAI's `SimpleTokenizer` read them.
    private static func mergePairs(_ merges: Data, file: String) throws -> [(String, String)] {
        guard let text = String(data: merges, encoding: .utf8) else {
            throw TokenizerError.malformedMerges(file: file, line: 1, reason: "not UTF-8")
        }
        let lines = text.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: "\n", omittingEmptySubsequences: false)
        var pairs: [(String, String)] = []
        for (offset, line) in lines.dropFirst().prefix(49_152 - 256 - 2).enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw TokenizerError.malformedMerges(file: file, line: offset + 2, reason: "expected two symbols")
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        return pairs
    }

    /// `SimpleTokenizer`'s vocabulary: byte symbols in `bytes_to_unicode` order (printable bytes first), the same
    /// with `</w>`, the merged pairs, the two special tokens.
    static func derivedVocabulary(_ pairs: [(String, String)]) -> [String: Int] {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let order = printable + (0..<256).filter { !printable.contains($0) }
        let symbols = order.map { BytePairEncoding.byteCharacters[$0] }
        let tokens = symbols + symbols.map { $0 + "</w>" } + pairs.map { $0.0 + $0.1 }
            + ["<|startoftext|>", "<|endoftext|>"]
        var vocabulary: [String: Int] = [:]
        for (id, token) in tokens.enumerated() { vocabulary[token] = id }
        return vocabulary
    }

    /// Loads `vocab.json` and `merges.txt` from a diffusers tokenizer folder; the pad token and maximum length come
    /// from `tokenizer_config.json` and then `special_tokens_map.json` when present, and `padToken` overrides the
    /// pad token (a single-file checkpoint's family decides it).
    public init(folder: URL, padToken overridingPad: String? = nil) throws {
        func read(_ name: String) throws -> Data? {
            let url = folder.appending(path: name)
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            do {
                return try Data(contentsOf: url)
            } catch {
                throw TokenizerError.unreadable(file: url.path, reason: error.localizedDescription)
            }
        }
        let vocabularyFile = folder.appending(path: "vocab.json").path
        let mergesFile = folder.appending(path: "merges.txt").path
        guard let vocabulary = try read("vocab.json"), let merges = try read("merges.txt") else {
            throw TokenizerError.unreadable(file: folder.path, reason: "vocab.json or merges.txt is missing")
        }
        var padToken = "<|endoftext|>"
        var maximumLength = Self.defaultMaximumLength
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            guard let data = try read(name) else { continue }
            let file = folder.appending(path: name).path
            guard let config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw TokenizerError.malformedConfiguration(file: file, reason: "not a JSON object")
            }
            if let pad = config["pad_token"] {
                guard let token = pad as? String ?? (pad as? [String: Any])?["content"] as? String else {
                    throw TokenizerError.malformedConfiguration(file: file, reason: "pad_token is not a token")
                }
                padToken = token
            }
            if let length = (config["model_max_length"] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }) {
                maximumLength = length
            }
        }
        try self.init(
            vocabularyJSON: vocabulary, merges: merges, padToken: overridingPad ?? padToken,
            maximumLength: maximumLength,
            vocabularyFile: vocabularyFile, mergesFile: mergesFile)
    }

    /// The BPE tokens of `text`, without BOS/EOS (transformers' `tokenize`).
    public func tokens(_ text: String) -> [String] {
        var result: [String] = []
        for piece in splitSpecialTokens(text) {
            if specialTokens.contains(piece) {
                result.append(piece)
                continue
            }
            for word in CLIPPreTokenizer.words(piece) {
                result += encoding.encode(word)
            }
        }
        return result
    }

    /// The ids of `text`'s tokens, without BOS/EOS, untruncated. Unknown tokens become EOS (CLIP's unknown token).
    public func ids(_ text: String) -> [Int] {
        tokens(text).map { vocabulary[$0] ?? eosTokenID }
    }

    /// BOS, the ids of `text` (all of them, however long), EOS.
    public func fullIDs(_ text: String) -> [Int] {
        [bosTokenID] + ids(text) + [eosTokenID]
    }

    /// Exactly `maximumLength` ids: BOS, the first `maximumLength − 2` ids of `text`, EOS, then padding.
    public func paddedIDs(_ text: String) -> [Int] {
        window(Array(ids(text).prefix(maximumLength - 2)))
    }

    /// Wraps up to `maximumLength − 2` content ids as BOS, ids, EOS, padding.
    public func window(_ content: [Int]) -> [Int] {
        precondition(content.count <= maximumLength - 2, "a window holds at most \(maximumLength - 2) ids")
        let ids = [bosTokenID] + content + [eosTokenID]
        return ids + Array(repeating: padTokenID, count: maximumLength - ids.count)
    }

    /// The text's ids in consecutive windows of `maximumLength − 2` (75), each wrapped and padded as A1111 and
    /// ComfyUI do for prompts longer than one context; an empty text gives one window.
    public func windows(_ text: String) -> [[Int]] {
        let content = ids(text)
        let size = maximumLength - 2
        guard !content.isEmpty else { return [window([])] }
        return stride(from: 0, to: content.count, by: size).map {
            window(Array(content[$0..<min($0 + size, content.count)]))
        }
    }

    /// Splits out exact occurrences of the special tokens, as transformers' added-token trie does before normalization:
    /// the earliest match first, the longest of those starting there.
    private func splitSpecialTokens(_ text: String) -> [String] {
        var pieces: [String] = []
        var rest = Substring(text)
        while let match = specialTokens.compactMap({ rest.range(of: $0) }).min(by: {
            ($0.lowerBound, rest.distance(from: $1.lowerBound, to: $1.upperBound))
                < ($1.lowerBound, rest.distance(from: $0.lowerBound, to: $0.upperBound))
        }) {
            if match.lowerBound > rest.startIndex {
                pieces.append(String(rest[..<match.lowerBound]))
            }
            pieces.append(String(rest[match]))
            rest = rest[match.upperBound...]
        }
        if !rest.isEmpty {
            pieces.append(String(rest))
        }
        return pieces
    }
}
