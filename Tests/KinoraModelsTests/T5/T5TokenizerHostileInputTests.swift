import Foundation
import XCTest

@testable import KinoraModels

/// Damaged and unsupported `spiece.model` and `tokenizer.json` files end in a `T5TokenizerError` that names the file
/// and the place, never in a crash or a hang.
final class T5TokenizerHostileInputTests: XCTestCase {
    // MARK: spiece.model

    func testTruncatedSpieceModelIsRefusedWithTheFileNamed() throws {
        let model = try T5TokenizerFixtures.sentencePieceModel()
        XCTAssertThrowsError(try T5Tokenizer(sentencePieceModel: Data(), file: "empty.model")) {
            XCTAssertEqual(
                $0 as? T5TokenizerError,
                .malformed(file: "empty.model", field: "ModelProto.pieces", reason: "the model has no pieces"))
        }
        // The normalizer spec, with its charsmap, is written last: cutting the file short cuts inside it.
        XCTAssertThrowsError(try T5Tokenizer(sentencePieceModel: model.prefix(model.count - 1), file: "cut.model")) {
            guard case .malformed("cut.model", let field, let reason) = $0 as? T5TokenizerError else {
                return XCTFail("\($0)")
            }
            XCTAssertTrue(field.hasPrefix("byte "), field)
            XCTAssertTrue(reason.contains("claims"), reason)
        }
        // Protobuf has no end marker, so a cut between two fields leaves a shorter valid message; every other cut
        // must be refused, and none may crash.
        var refused = 0
        let cuts = stride(from: 1, to: model.count, by: 997)
        for cut in cuts {
            do {
                _ = try T5Tokenizer(sentencePieceModel: model.prefix(cut), file: "cut.model").ids("a cat")
            } catch {
                XCTAssertTrue(error.description.hasPrefix("cut.model: "), error.description)
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, cuts.underestimatedCount * 9 / 10)
    }

    func testCorruptedSpieceModelNeverCrashes() throws {
        let model = [UInt8](try T5TokenizerFixtures.sentencePieceModel())
        var generator = SplitMix64(seed: 12)
        var refused = 0
        for _ in 0..<60 {
            var corrupted = model
            for _ in 0..<4 {
                corrupted[Int(generator.next() % UInt64(model.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                let tokenizer = try T5Tokenizer(sentencePieceModel: Data(corrupted), file: "bad.model")
                _ = tokenizer.encode("ｆｕｌｌ ① café 一只猫 🐱 </s> long long text", maximumLength: 16)
            } catch {
                XCTAssertTrue(error.description.hasPrefix("bad.model: "), error.description)
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testHandWrittenModelProtosAreCheckedAsSentencePieceChecksThem() throws {
        let unknown = ModelProtoWriter.piece("<unk>", score: 0, type: 2)
        let pieces = [unknown, ModelProtoWriter.piece("\u{2581}a", score: -1), ModelProtoWriter.piece("b", score: -2)]
        let working = try T5Tokenizer.withEOS(pieces: pieces)
        // "▁a▁b": "▁a", then "▁", which no piece covers, as <unk>, then "b" and </s>.
        XCTAssertEqual(working.ids("a b"), [1, 0, 2, 4])

        func refusal(_ bytes: [UInt8]) -> String {
            do {
                _ = try T5Tokenizer(sentencePieceModel: Data(bytes), file: "m")
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(
            refusal(ModelProtoWriter.model([ModelProtoWriter.piece("a", score: -1)])),
            "m: ModelProto.pieces: no piece has the type UNKNOWN")
        XCTAssertEqual(
            refusal(ModelProtoWriter.model([unknown, ModelProtoWriter.piece("<unk>", score: 0)])),
            "m: ModelProto.pieces[1]: '<unk>' is already defined")
        XCTAssertEqual(
            refusal(ModelProtoWriter.model([unknown, ModelProtoWriter.piece("a", score: 0, type: 9)])),
            "m: ModelProto.pieces[1].type: unknown type 9")
        XCTAssertEqual(
            refusal(ModelProtoWriter.model([unknown, ModelProtoWriter.piece("<0x41>", score: 0, type: 6)])),
            "m: ModelProto.pieces[1]: byte piece '<0x41>' although byte_fallback is false")
        XCTAssertEqual(
            refusal(ModelProtoWriter.model([unknown], trainer: ModelProtoWriter.varintField(3, 2))),
            "m: TrainerSpec.model_type: not supported (a bpe model; T5-family tokenizers are unigram models)")
        XCTAssertEqual(
            refusal(ModelProtoWriter.model([unknown], trainer: ModelProtoWriter.varintField(35, 1))),
            "m: ModelProto.pieces: byte_fallback is true but not all 256 byte pieces are present")
        XCTAssertEqual(refusal([0x0B]), "m: byte 0: field 1 is a group, which this format never uses")
        XCTAssertEqual(refusal([0x0A, 0x05, 0x01]), "m: byte 1: field 1 claims 5 bytes but only 1 remain")
        XCTAssertEqual(
            refusal([0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01]),
            "m: byte 1: a varint is longer than 64 bits")
        XCTAssertEqual(refusal([0x0D, 0x00]), "m: byte 1: the message ends inside a 32-bit value")
        XCTAssertEqual(refusal([0x07]), "m: byte 0: field number 0 is out of range")
        XCTAssertEqual(
            refusal(ModelProtoWriter.model([ModelProtoWriter.varintField(2, 1)])),
            "m: ModelProto.pieces[0].score: a varint value where 32-bit was expected")
    }

    func testNegativeInt32VarintsReadAsSentencePieceWritesThem() throws {
        // trainer_spec.pad_id = -1 is written as a ten-byte varint; the reader must step over it intact.
        let unknown = ModelProtoWriter.piece("<unk>", score: 0, type: 2)
        let padMinusOne: [UInt8] = [0xD8, 0x02] + [UInt8](repeating: 0xFF, count: 9) + [0x01]
        let tokenizer = try T5Tokenizer.withEOS(
            pieces: [unknown, ModelProtoWriter.piece("\u{2581}a", score: -1)], trainer: padMinusOne)
        XCTAssertEqual(tokenizer.ids("a"), [1, 3])
    }

    // MARK: precompiled charsmap

    func testDamagedCharsMapsAreRefusedBeforeAnyTextIsNormalized() {
        func refusal(_ blob: [UInt8]) -> String {
            do {
                _ = try PrecompiledCharsMap(blob, file: "f", field: "charsmap")
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(refusal([1, 0, 0]), "f: charsmap: the charsmap is shorter than its 4-byte header")
        XCTAssertEqual(
            refusal([8, 0, 0, 0, 0, 0, 0]), "f: charsmap: the trie size 8 does not fit the 3 bytes after the header")
        XCTAssertEqual(
            refusal([3, 0, 0, 0, 0, 0, 0, 0]), "f: charsmap: the trie size 3 does not fit the 4 bytes after the header")
        // Root with base 1; 'a' (0x61) lands on unit 0x60, which has a leaf whose value unit (0x60 ^ 1) holds 5.
        var units = [UInt32](repeating: 0, count: 128)
        units[0] = 1 << 10
        units[0x60] = 0x61 | 1 << 8 | 1 << 10
        units[0x61] = 1 << 31 | 5
        XCTAssertEqual(
            refusal(Self.blob(units, strings: [0x41, 0x00])),
            "f: charsmap: a trie value (5) does not point at a NUL-terminated string")
        XCTAssertEqual(
            refusal(Self.blob(units, strings: [0, 0, 0, 0, 0, 0xFF, 0x00])),
            "f: charsmap: the replacement at 5 is not valid UTF-8")
        XCTAssertEqual(refusal(Self.blob(units, strings: [0, 0, 0, 0, 0, 0x42, 0x00])), "loaded")
        // The same leaf with its value unit past the end of the array.
        units[0x60] = 0x61 | 1 << 8 | 0x100 << 10
        XCTAssertEqual(
            refusal(Self.blob(units, strings: [0x42, 0x00])),
            "f: charsmap: the value of trie node 96 lies outside the 128 units")
    }

    func testCyclicCharsMapTrieEndsEveryWalk() throws {
        // Units 0x60 and 0x01 both carry label 'a' with offset 0, so "aaaa…" walks between them forever in a naive
        // reader; offsets past the end of the array must end a walk too.
        var units = [UInt32](repeating: 0, count: 128)
        units[0] = 1 << 10
        units[0x60] = 0x61
        units[0x01] = 0x61
        units[0x62 ^ 1] = 0x62 | 0x3FFFFF << 10
        let charsMap = try PrecompiledCharsMap(Self.blob(units, strings: [0x00]), file: "f", field: "charsmap")
        let text = [UInt8](repeating: 0x61, count: 10_000)
        XCTAssertNil(charsMap.longestReplacement(text))
        XCTAssertNil(charsMap.shortestReplacement(text))
        XCTAssertNil(charsMap.longestReplacement([0x62, 0x62, 0x62]))
        let trie = DoubleArrayTrie(units: [0x3FFFFF << 10])
        XCTAssertEqual(trie.commonPrefixSearch([0x61, 0x62]), [])
        XCTAssertEqual(DoubleArrayTrie(units: []).commonPrefixSearch([0x61]), [])
    }

    // MARK: tokenizer.json

    func testTruncatedTokenizerJSONIsASyntaxErrorAtAByte() throws {
        let json = try T5TokenizerFixtures.tokenizerJSON()
        for cut in stride(from: 0, to: json.count, by: json.count / 7) {
            XCTAssertThrowsError(try T5Tokenizer(tokenizerJSON: json.prefix(cut), file: "t.json")) {
                guard case .malformed("t.json", let field, _) = $0 as? T5TokenizerError else {
                    return XCTFail("\($0)")
                }
                XCTAssertTrue(field.hasPrefix("byte "), field)
            }
        }
    }

    func testUnsupportedOrDamagedComponentsAreNamedByTheirPath() throws {
        func refusal(_ edit: (inout [String: Any]) -> Void) -> String {
            var document = MinimalTokenizerJSON.document
            edit(&document)
            do {
                let data = try JSONSerialization.data(withJSONObject: document)
                _ = try T5Tokenizer(tokenizerJSON: data, file: "t.json")
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(refusal { _ in }, "loaded")
        XCTAssertEqual(
            refusal { $0["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFKC"]]] },
            "t.json: normalizer.normalizers[0]: not supported (the normalizer 'NFKC'; T5-family files use Sequence, "
                + "Precompiled, Replace and Strip)")
        XCTAssertEqual(
            refusal { $0["pre_tokenizer"] = ["type": "ByteLevel"] },
            "t.json: pre_tokenizer: not supported (the pre-tokenizer 'ByteLevel'; T5-family files use Sequence, "
                + "WhitespaceSplit and Metaspace)")
        XCTAssertEqual(
            refusal {
                $0["pre_tokenizer"] = [
                    "type": "Sequence",
                    "pretokenizers": [
                        ["type": "WhitespaceSplit"],
                        ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first"],
                    ],
                ]
            },
            "t.json: pre_tokenizer.pretokenizers[1]: not supported (Metaspace with prepend_scheme 'first' after "
                + "another pre-tokenizer)")
        XCTAssertEqual(
            refusal { $0["post_processor"] = ["type": "BertProcessing"] },
            "t.json: post_processor: not supported (the post-processor 'BertProcessing'; T5-family files use "
                + "TemplateProcessing)")
        XCTAssertEqual(
            refusal { $0["normalizer"] = ["type": "Precompiled", "precompiled_charsmap": "not base64!"] },
            "t.json: normalizer.precompiled_charsmap: not base64")
        XCTAssertEqual(
            refusal {
                $0["normalizer"] = [
                    "type": "Precompiled", "precompiled_charsmap": Data([0xFF, 0, 0, 0, 1, 2]).base64EncodedString(),
                ]
            },
            "t.json: normalizer.precompiled_charsmap: the trie size 255 does not fit the 2 bytes after the header")
        XCTAssertEqual(
            refusal { $0["normalizer"] = ["type": "Replace", "pattern": ["Regex": "(a|b)"], "content": ""] },
            "t.json: normalizer.pattern.Regex: not supported (the regular expression '(a|b)' uses '('; only literal "
                + "characters with quantifiers are implemented)")
        XCTAssertEqual(
            refusal { $0["normalizer"] = ["type": "Replace", "pattern": ["Regex": " *"], "content": "_"] },
            "t.json: normalizer.pattern.Regex: not supported (the regular expression ' *' uses a pattern that can "
                + "match an empty string; only literal characters with quantifiers are implemented)")
        XCTAssertEqual(
            refusal { $0["model"] = ["type": "BPE", "vocab": [:], "merges": []] },
            "t.json: model: not supported (a 'BPE' model; T5-family tokenizers are Unigram models)")
        XCTAssertEqual(
            refusal { MinimalTokenizerJSON.editModel(&$0) { $0["unk_id"] = 40 } },
            "t.json: model.unk_id: unk_id 40 is outside the 5 pieces")
        XCTAssertEqual(
            refusal { MinimalTokenizerJSON.editModel(&$0) { $0["vocab"] = [["<unk>", 0.0], ["a"]] } },
            "t.json: model.vocab[1]: expected [piece, score]")
        XCTAssertEqual(
            refusal { MinimalTokenizerJSON.editModel(&$0) { $0["vocab"] = [["<unk>", 0.0], ["a", "x"]] } },
            "t.json: model.vocab[1][1]: expected a number, found a string")
        XCTAssertEqual(
            refusal {
                $0["added_tokens"] = [
                    ["id": 1, "content": "</s>", "lstrip": true, "special": true, "normalized": false]
                ]
            },
            "t.json: added_tokens[0]: not supported (added token '</s>' with lstrip)")
        XCTAssertEqual(
            refusal {
                $0["added_tokens"] = []
                MinimalTokenizerJSON.editModel(&$0) { $0["vocab"] = [["<pad>", 0.0], ["x", 0.0], ["<unk>", 0.0]] }
            },
            "t.json: model.vocab: there is no token '</s>'")
        XCTAssertEqual(refusal { $0["model"] = 3 }, "t.json: model: expected an object, found a number")
    }

    func testReplacePatternsMatchLeftmostAndGreedy() throws {
        let field = TokenizerJSONField(value: .null, path: "p", file: "f")
        XCTAssertEqual(
            try ReplacePattern(regex: " {2,}", field: field).replacingMatches(in: " a  b   c ", with: "_"),
            " a_b_c ")
        XCTAssertEqual(
            try ReplacePattern(regex: "ab?b\\.{1,2}", field: field).replacingMatches(in: "ab.abb..abbb...", with: "#"),
            "##abbb...")
        XCTAssertEqual(ReplacePattern(literal: "aa").replacingMatches(in: "aaaaa", with: "b"), "bba")
        XCTAssertEqual(ReplacePattern(literal: "").replacingMatches(in: "abc", with: "x"), "abc")
        XCTAssertThrowsError(try ReplacePattern(regex: "\\s+", field: field))
        XCTAssertThrowsError(try ReplacePattern(regex: "a{3", field: field))
    }

    private static func blob(_ units: [UInt32], strings: [UInt8]) -> [UInt8] {
        let size = UInt32(units.count * 4)
        var bytes = (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) }
        for unit in units { bytes += (0..<4).map { UInt8(truncatingIfNeeded: unit >> (8 * UInt32($0))) } }
        return bytes + strings
    }
}

/// A small deterministic generator for the corruption test.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes small `ModelProto`s field by field.
private enum ModelProtoWriter {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            bytes.append(UInt8(value & 0x7F) | (value >= 0x80 ? 0x80 : 0))
            value >>= 7
        } while value > 0
        return bytes
    }

    static func varintField(_ number: UInt64, _ value: UInt64) -> [UInt8] { varint(number << 3) + varint(value) }

    static func bytesField(_ number: UInt64, _ bytes: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    static func piece(_ text: String, score: Float, type: UInt64 = 1) -> [UInt8] {
        let bits = score.bitPattern
        return bytesField(1, Array(text.utf8)) + [0x15] + (0..<4).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) }
            + (type == 1 ? [] : varintField(3, type))
    }

    static func model(_ pieces: [[UInt8]], trainer: [UInt8] = []) -> [UInt8] {
        pieces.flatMap { bytesField(1, $0) } + (trainer.isEmpty ? [] : bytesField(2, trainer))
    }
}

extension T5Tokenizer {
    /// A tokenizer from hand-written pieces with `<pad>` and `</s>` control pieces appended.
    fileprivate static func withEOS(pieces: [[UInt8]], trainer: [UInt8] = []) throws -> T5Tokenizer {
        let control = [
            ModelProtoWriter.piece("<pad>", score: 0, type: 3), ModelProtoWriter.piece("</s>", score: 0, type: 3),
        ]
        return try T5Tokenizer(sentencePieceModel: Data(ModelProtoWriter.model(pieces + control, trainer: trainer)))
    }
}

/// A tokenizer.json with a five-piece vocabulary and T5's components, to edit one part at a time.
private enum MinimalTokenizerJSON {
    static var document: [String: Any] {
        [
            "version": "1.0",
            "added_tokens": [
                [
                    "id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false,
                    "special": true,
                ]
            ],
            "normalizer": NSNull(),
            "pre_tokenizer": [
                "type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true,
            ],
            "post_processor": [
                "type": "TemplateProcessing",
                "single": [["Sequence": ["id": "A", "type_id": 0]], ["SpecialToken": ["id": "</s>", "type_id": 0]]],
                "pair": [],
                "special_tokens": ["</s>": ["id": "</s>", "ids": [1], "tokens": ["</s>"]]],
            ],
            "model": [
                "type": "Unigram", "unk_id": 2, "byte_fallback": false,
                "vocab": [["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["\u{2581}a", -1.0], ["b", -2.0]],
            ],
        ]
    }

    static func editModel(_ document: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var model = document["model"] as! [String: Any]
        edit(&model)
        document["model"] = model
    }
}
