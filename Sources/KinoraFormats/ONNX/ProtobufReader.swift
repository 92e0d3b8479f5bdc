/// A cursor over protobuf wire-format bytes (https://protobuf.dev/programming-guides/encoding/): reads field tags
/// and values and never reads past its window. Length-delimited values come back as byte ranges of the underlying
/// buffer, so nested messages and tensor data are read in place, without copies.
struct ProtobufReader {
    /// How a field's value is laid out on the wire.
    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// Why bytes are not valid wire format; `offset` is from the start of the whole buffer.
    enum Failure: Error, Equatable {
        case truncated(offset: Int, needed: String)
        case badWireType(offset: Int, field: UInt64, wireType: UInt64)
        case varintTooLong(offset: Int)
        case lengthOutOfRange(offset: Int, field: UInt64, length: UInt64, available: Int)
        case fieldNumberZero(offset: Int)
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int

    /// A reader of `range` within `bytes` (the whole buffer when nil).
    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    var isAtEnd: Bool { offset >= end }

    /// The next field's number and wire type, or nil at the end of the window.
    mutating func nextField() throws -> (number: UInt64, wireType: WireType)? {
        guard !isAtEnd else { return nil }
        let start = offset
        let key = try readVarint()
        let number = key >> 3
        guard number != 0 else { throw Failure.fieldNumberZero(offset: start) }
        guard let wireType = WireType(rawValue: key & 7), wireType != .startGroup, wireType != .endGroup else {
            throw Failure.badWireType(offset: start, field: number, wireType: key & 7)
        }
        return (number, wireType)
    }

    /// A base-128 varint (at most 10 bytes).
    mutating func readVarint() throws -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw Failure.truncated(offset: start, needed: "a varint") }
            guard shift < 64 else { throw Failure.varintTooLong(offset: start) }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A little-endian 32-bit value.
    mutating func readFixed32() throws -> UInt32 {
        guard end - offset >= 4 else { throw Failure.truncated(offset: offset, needed: "4 bytes of a fixed32") }
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// A little-endian 64-bit value.
    mutating func readFixed64() throws -> UInt64 {
        guard end - offset >= 8 else { throw Failure.truncated(offset: offset, needed: "8 bytes of a fixed64") }
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The byte range of a length-delimited value of `field`, checked to lie inside the window.
    mutating func readLengthDelimited(field: UInt64) throws -> Range<Int> {
        let start = offset
        let length = try readVarint()
        guard length <= UInt64(end - offset) else {
            throw Failure.lengthOutOfRange(offset: start, field: field, length: length, available: end - offset)
        }
        let range = offset..<(offset + Int(length))
        offset = range.upperBound
        return range
    }

    /// A length-delimited value decoded as UTF-8 (invalid sequences become U+FFFD).
    mutating func readString(field: UInt64) throws -> String {
        let range = try readLengthDelimited(field: field)
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Skips the value of a field of `wireType`.
    mutating func skip(_ wireType: WireType, field: UInt64) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited(field: field)
        case .startGroup, .endGroup:
            throw Failure.badWireType(offset: offset, field: field, wireType: wireType.rawValue)
        }
    }

    /// A repeated integer field, packed (one length-delimited run of varints) or not (one varint per tag).
    mutating func readInt64s(_ wireType: WireType, field: UInt64, into values: inout [Int64]) throws {
        switch wireType {
        case .varint:
            values.append(Int64(bitPattern: try readVarint()))
        case .lengthDelimited:
            var packed = ProtobufReader(bytes, range: try readLengthDelimited(field: field))
            while !packed.isAtEnd { values.append(Int64(bitPattern: try packed.readVarint())) }
        default:
            throw Failure.badWireType(offset: offset, field: field, wireType: wireType.rawValue)
        }
    }

    /// Checks that a field has the wire type its schema gives it.
    func expect(_ wireType: WireType, _ expected: WireType, field: UInt64) throws {
        guard wireType == expected else {
            throw Failure.badWireType(offset: offset, field: field, wireType: wireType.rawValue)
        }
    }
}
