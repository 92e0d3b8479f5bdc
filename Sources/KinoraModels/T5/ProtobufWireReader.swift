/// A bounded reader of the protocol-buffer wire format, for the few messages of SentencePiece's `ModelProto` the
/// tokenizer needs. Every length is checked against the bytes that remain, varints are at most ten bytes, and groups
/// (deprecated, never written by SentencePiece) are refused, so a damaged file ends in an error, never a crash.
struct ProtobufWireReader {
    /// One field as it appears on the wire.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(Range<Int>)

        var wireTypeName: String {
            switch self {
            case .varint: return "varint"
            case .fixed64: return "64-bit"
            case .fixed32: return "32-bit"
            case .bytes: return "length-delimited"
            }
        }
    }

    /// What went wrong, and at which byte offset of the whole file.
    struct Failure: Error {
        let offset: Int
        let reason: String
    }

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int

    /// Reads `range` of `bytes`, which must lie inside them.
    init(bytes: [UInt8], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
    }

    /// The next field number and value, or nil at the end of the message.
    mutating func next() throws(Failure) -> (number: Int, value: Value)? {
        guard position < end else { return nil }
        let tagOffset = position
        let tag = try varint()
        let number = tag >> 3
        guard number >= 1, number <= (1 << 29) - 1 else {
            throw Failure(offset: tagOffset, reason: "field number \(number) is out of range")
        }
        switch tag & 7 {
        case 0:
            return (Int(number), .varint(try varint()))
        case 1:
            return (Int(number), .fixed64(try fixed(8)))
        case 2:
            let lengthOffset = position
            let length = try varint()
            guard length <= UInt64(end - position) else {
                throw Failure(
                    offset: lengthOffset,
                    reason: "field \(number) claims \(length) bytes but only \(end - position) remain")
            }
            let start = position
            position += Int(length)
            return (Int(number), .bytes(start..<position))
        case 5:
            return (Int(number), .fixed32(UInt32(truncatingIfNeeded: try fixed(4))))
        case 3, 4:
            throw Failure(offset: tagOffset, reason: "field \(number) is a group, which this format never uses")
        default:
            throw Failure(offset: tagOffset, reason: "field \(number) has the invalid wire type \(tag & 7)")
        }
    }

    private mutating func varint() throws(Failure) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        for index in 0..<10 {
            guard position < end else { throw Failure(offset: start, reason: "the message ends inside a varint") }
            let byte = bytes[position]
            position += 1
            if index == 9, byte > 1 {
                throw Failure(offset: start, reason: "a varint is longer than 64 bits")
            }
            result |= UInt64(byte & 0x7F) << (7 * UInt64(index))
            if byte & 0x80 == 0 { return result }
        }
        throw Failure(offset: start, reason: "a varint is longer than ten bytes")
    }

    private mutating func fixed(_ count: Int) throws(Failure) -> UInt64 {
        guard end - position >= count else {
            throw Failure(offset: position, reason: "the message ends inside a \(count * 8)-bit value")
        }
        var result: UInt64 = 0
        for index in 0..<count {
            result |= UInt64(bytes[position + index]) << (8 * UInt64(index))
        }
        position += count
        return result
    }
}
