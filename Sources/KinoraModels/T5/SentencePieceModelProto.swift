/// The parts of SentencePiece's `ModelProto` (`sentencepiece_model.proto`, as written to `spiece.model`) that encoding
/// needs: the pieces with their scores and types, the trainer's model type and byte fallback, and the normalizer spec.
/// Read with a small bounded wire-format reader rather than swift-protobuf: the reader needs eight fields of three
/// messages, and a hand-written one keeps the package free of a generated-code dependency and its build plugin while
/// checking every length itself.
struct SentencePieceModelProto: Sendable {
    /// `ModelProto.SentencePiece.Type`.
    enum PieceType: Int, Sendable {
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6
    }

    struct Piece: Sendable {
        var piece: String
        var score: Float
        var type: PieceType
    }

    /// `TrainerSpec.ModelType`; only the unigram model is implemented.
    enum ModelType: Int, Sendable {
        case unigram = 1
        case bpe = 2
        case word = 3
        case character = 4
    }

    var pieces: [Piece] = []
    var modelType = ModelType.unigram
    var byteFallback = false
    var treatWhitespaceAsSuffix = false
    var precompiledCharsMap: [UInt8] = []
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    /// The most pieces a model may declare (UMT5 has 256 000; SentencePiece ids are 32-bit).
    static let maximumPieceCount = 4_000_000

    /// Parses a serialized `ModelProto`. Fields this tokenizer does not use are skipped; repeated occurrences of a
    /// message field merge, and of a scalar field the last one wins, as protobuf's own parsers do.
    init(bytes: [UInt8], file: String) throws(T5TokenizerError) {
        do {
            var reader = ProtobufWireReader(bytes: bytes, range: 0..<bytes.count)
            while let (number, value) = try reader.next() {
                switch number {
                case 1:
                    guard pieces.count < Self.maximumPieceCount else {
                        throw T5TokenizerError.malformed(
                            file: file, field: "ModelProto.pieces",
                            reason: "more than \(Self.maximumPieceCount) pieces")
                    }
                    pieces.append(
                        try Self.piece(
                            bytes, try message(value, "ModelProto.pieces", file), file: file,
                            index: pieces.count))
                case 2:
                    try readTrainerSpec(bytes, try message(value, "ModelProto.trainer_spec", file), file: file)
                case 3:
                    try readNormalizerSpec(bytes, try message(value, "ModelProto.normalizer_spec", file), file: file)
                default:
                    continue
                }
            }
        } catch let failure as ProtobufWireReader.Failure {
            throw .malformed(file: file, field: "byte \(failure.offset)", reason: failure.reason)
        } catch let error as T5TokenizerError {
            throw error
        } catch {
            throw .malformed(file: file, field: "ModelProto", reason: "\(error)")
        }
        guard !pieces.isEmpty else {
            throw .malformed(file: file, field: "ModelProto.pieces", reason: "the model has no pieces")
        }
    }

    private static func piece(_ bytes: [UInt8], _ range: Range<Int>, file: String, index: Int) throws -> Piece {
        let field = "ModelProto.pieces[\(index)]"
        var piece = Piece(piece: "", score: 0, type: .normal)
        var reader = ProtobufWireReader(bytes: bytes, range: range)
        while let (number, value) = try reader.next() {
            switch number {
            case 1: piece.piece = try string(bytes, value, "\(field).piece", file)
            case 2:
                guard case .fixed32(let bits) = value else {
                    throw wireType(value, "\(field).score", "32-bit", file)
                }
                piece.score = Float(bitPattern: bits)
            case 3:
                let raw = try integer(value, "\(field).type", file)
                guard let type = PieceType(rawValue: raw) else {
                    throw T5TokenizerError.malformed(file: file, field: "\(field).type", reason: "unknown type \(raw)")
                }
                piece.type = type
            default: continue
            }
        }
        guard !piece.piece.isEmpty else {
            throw T5TokenizerError.malformed(file: file, field: "\(field).piece", reason: "a piece must not be empty")
        }
        guard piece.score.isFinite else {
            throw T5TokenizerError.malformed(
                file: file, field: "\(field).score", reason: "the score of '\(piece.piece)' is not finite")
        }
        return piece
    }

    private mutating func readTrainerSpec(_ bytes: [UInt8], _ range: Range<Int>, file: String) throws {
        var reader = ProtobufWireReader(bytes: bytes, range: range)
        while let (number, value) = try reader.next() {
            switch number {
            case 3:
                let raw = try Self.integer(value, "TrainerSpec.model_type", file)
                guard let type = ModelType(rawValue: raw) else {
                    throw T5TokenizerError.malformed(
                        file: file, field: "TrainerSpec.model_type", reason: "unknown model type \(raw)")
                }
                modelType = type
            case 24:
                treatWhitespaceAsSuffix = try Self.integer(value, "TrainerSpec.treat_whitespace_as_suffix", file) != 0
            case 35: byteFallback = try Self.integer(value, "TrainerSpec.byte_fallback", file) != 0
            default: continue
            }
        }
    }

    private mutating func readNormalizerSpec(_ bytes: [UInt8], _ range: Range<Int>, file: String) throws {
        var reader = ProtobufWireReader(bytes: bytes, range: range)
        while let (number, value) = try reader.next() {
            switch number {
            case 2:
                precompiledCharsMap = Array(bytes[try Self.message(value, "NormalizerSpec.precompiled_charsmap", file)])
            case 3: addDummyPrefix = try Self.integer(value, "NormalizerSpec.add_dummy_prefix", file) != 0
            case 4:
                removeExtraWhitespaces = try Self.integer(value, "NormalizerSpec.remove_extra_whitespaces", file) != 0
            case 5: escapeWhitespaces = try Self.integer(value, "NormalizerSpec.escape_whitespaces", file) != 0
            default: continue
            }
        }
    }

    private func message(_ value: ProtobufWireReader.Value, _ field: String, _ file: String) throws -> Range<Int> {
        try Self.message(value, field, file)
    }

    private static func message(_ value: ProtobufWireReader.Value, _ field: String, _ file: String) throws
        -> Range<Int>
    {
        guard case .bytes(let range) = value else { throw wireType(value, field, "length-delimited", file) }
        return range
    }

    private static func string(
        _ bytes: [UInt8], _ value: ProtobufWireReader.Value, _ field: String,
        _ file: String
    ) throws -> String {
        let range = try message(value, field, file)
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw T5TokenizerError.malformed(file: file, field: field, reason: "not valid UTF-8")
        }
        return text
    }

    /// An `int32`/`bool`/enum varint, as a signed 32-bit value (protobuf writes negative `int32`s in ten bytes).
    private static func integer(_ value: ProtobufWireReader.Value, _ field: String, _ file: String) throws -> Int {
        guard case .varint(let raw) = value else { throw wireType(value, field, "varint", file) }
        return Int(Int32(truncatingIfNeeded: raw))
    }

    private static func wireType(
        _ value: ProtobufWireReader.Value, _ field: String, _ expected: String,
        _ file: String
    ) -> T5TokenizerError {
        .malformed(file: file, field: field, reason: "a \(value.wireTypeName) value where \(expected) was expected")
    }
}
