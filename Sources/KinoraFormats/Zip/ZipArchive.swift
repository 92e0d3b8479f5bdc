/// The entries of a zip archive held in memory (a mapped file), read from its central directory, Zip64 included. Only
/// stored (uncompressed) entries can be read, which is how PyTorch writes checkpoints, so each entry's data is a range
/// of the mapping: nothing is copied or inflated. Every offset and length is checked against the archive's size.
public struct ZipArchive {
    /// One file in the archive.
    public struct Entry: Equatable, Sendable {
        public let name: String
        /// The data's bytes within the archive.
        public let dataRange: Range<Int>
        /// 0 for stored entries; other methods are refused when the data is asked for.
        public let compressionMethod: UInt16
        public let crc32: UInt32
        public let isEncrypted: Bool
    }

    /// Why an archive could not be read: the reason, and the entry when one is involved.
    public struct Failure: Error, Equatable {
        public let entry: String?
        public let reason: String
    }

    public let entries: [String: Entry]
    /// Entry names in central-directory order.
    public let names: [String]

    /// Whether `bytes` start like a zip archive (a local file header, or an empty archive's end record).
    public static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        let signature = bytes.loadUnaligned(as: UInt32.self).littleEndian
        return signature == 0x0403_4B50 || signature == 0x0605_4B50
    }

    public init(bytes: UnsafeRawBufferPointer) throws {
        var reader = ByteReader(bytes: bytes)
        let directory = try Self.centralDirectory(bytes, &reader)
        var entries: [String: Entry] = [:]
        var names: [String] = []
        reader.position = directory.offset
        for _ in 0..<directory.count {
            let entry = try Self.entry(&reader, directoryEnd: directory.offset + directory.size)
            guard entries.updateValue(entry, forKey: entry.name) == nil else {
                throw Failure(entry: entry.name, reason: "the archive holds two entries of this name")
            }
            names.append(entry.name)
        }
        self.entries = entries
        self.names = names
    }

    /// The stored bytes of `entry`, refusing compressed and encrypted entries.
    public func storedRange(of entry: Entry) throws -> Range<Int> {
        guard !entry.isEncrypted else { throw Failure(entry: entry.name, reason: "the entry is encrypted") }
        guard entry.compressionMethod == 0 else {
            throw Failure(
                entry: entry.name,
                reason: "the entry is compressed (method \(entry.compressionMethod)); only stored entries can be "
                    + "mapped, as torch.save writes them")
        }
        return entry.dataRange
    }

    // MARK: Parsing

    private struct Directory {
        var offset: Int
        var size: Int
        var count: Int
    }

    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50

    /// Finds the end-of-central-directory record (the last one within the final 64 KiB + 22 bytes) and, where fields
    /// overflow, its Zip64 record.
    private static func centralDirectory(_ bytes: UnsafeRawBufferPointer, _ reader: inout ByteReader) throws
        -> Directory
    {
        guard bytes.count >= 22 else { throw Failure(entry: nil, reason: "too short for a zip archive") }
        let earliest = max(0, bytes.count - 22 - 65_535)
        var candidate = bytes.count - 22
        while candidate >= earliest,
            bytes.loadUnaligned(fromByteOffset: candidate, as: UInt32.self).littleEndian != endSignature
        {
            candidate -= 1
        }
        guard candidate >= earliest else {
            throw Failure(entry: nil, reason: "no end-of-central-directory record; the archive is truncated")
        }
        reader.position = candidate + 4
        let diskNumber = try reader.u16()
        let directoryDisk = try reader.u16()
        let countOnDisk = try reader.u16()
        let count = try reader.u16()
        let size = try reader.u32()
        let offset = try reader.u32()
        guard diskNumber == 0 || diskNumber == 0xFFFF, directoryDisk == 0 || directoryDisk == 0xFFFF,
            countOnDisk == count
        else { throw Failure(entry: nil, reason: "multi-disk archives are not supported") }
        var directory = Directory(offset: Int(offset), size: Int(size), count: Int(count))
        let needsZip64 = count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF
        if candidate >= 20,
            bytes.loadUnaligned(fromByteOffset: candidate - 20, as: UInt32.self).littleEndian == zip64LocatorSignature
        {
            reader.position = candidate - 12
            let recordOffset = try reader.offset64()
            reader.position = recordOffset
            guard try reader.u32() == zip64EndSignature else {
                throw Failure(entry: nil, reason: "the Zip64 locator points at no Zip64 end record")
            }
            reader.position += 8 + 2 + 2 + 4 + 4 + 8
            directory.count = try reader.offset64()
            directory.size = try reader.offset64()
            directory.offset = try reader.offset64()
        } else if needsZip64 {
            throw Failure(entry: nil, reason: "the archive needs a Zip64 record but has none")
        }
        guard directory.offset <= bytes.count, directory.size <= bytes.count - directory.offset else {
            throw Failure(entry: nil, reason: "the central directory lies outside the archive")
        }
        guard directory.count <= directory.size / 46 else {
            throw Failure(
                entry: nil, reason: "\(directory.count) entries cannot fit a \(directory.size)-byte directory")
        }
        return directory
    }

    private static func entry(_ reader: inout ByteReader, directoryEnd: Int) throws -> Entry {
        guard try reader.u32() == 0x0201_4B50 else {
            throw Failure(entry: nil, reason: "a central directory header is damaged at byte \(reader.position - 4)")
        }
        reader.position += 4
        let flags = try reader.u16()
        let method = try reader.u16()
        reader.position += 4
        let crc = try reader.u32()
        var compressedSize = UInt64(try reader.u32())
        var size = UInt64(try reader.u32())
        let nameLength = Int(try reader.u16())
        let extraLength = Int(try reader.u16())
        let commentLength = Int(try reader.u16())
        reader.position += 2 + 2 + 4
        var localOffset = UInt64(try reader.u32())
        guard let name = String(validating: try reader.take(nameLength), as: UTF8.self) else {
            throw Failure(entry: nil, reason: "an entry name is not valid UTF-8")
        }
        var extra = ByteReader(bytes: try reader.take(extraLength))
        reader.position += commentLength
        guard reader.position <= directoryEnd else {
            throw Failure(entry: name, reason: "the entry's header runs past the central directory")
        }
        do {
            while extra.remaining >= 4 {
                let id = try extra.u16()
                let length = Int(try extra.u16())
                var field = ByteReader(bytes: try extra.take(length))
                guard id == 0x0001 else { continue }
                if size == 0xFFFF_FFFF { size = try field.u64() }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try field.u64() }
                if localOffset == 0xFFFF_FFFF { localOffset = try field.u64() }
            }
        } catch is Failure {
            throw Failure(entry: name, reason: "its extra field (Zip64 sizes and offset) is truncated")
        }
        let dataRange = try localData(
            reader.bytes, name: name, localOffset: localOffset, compressedSize: compressedSize)
        if method == 0, compressedSize != size {
            throw Failure(entry: name, reason: "a stored entry of \(size) bytes declares \(compressedSize) stored")
        }
        return Entry(
            name: name, dataRange: dataRange, compressionMethod: method, crc32: crc, isEncrypted: flags & 1 != 0)
    }

    /// The data range after the entry's local header, whose own name and extra lengths decide where data starts.
    private static func localData(
        _ bytes: UnsafeRawBufferPointer, name: String, localOffset: UInt64, compressedSize: UInt64
    ) throws -> Range<Int> {
        var local = ByteReader(bytes: bytes)
        guard localOffset <= UInt64(bytes.count) else {
            throw Failure(entry: name, reason: "the local header offset \(localOffset) is past the archive's end")
        }
        local.position = Int(localOffset)
        do {
            guard try local.u32() == 0x0403_4B50 else {
                throw Failure(entry: name, reason: "no local file header at byte \(localOffset)")
            }
            local.position += 22
            let nameLength = Int(try local.u16())
            let extraLength = Int(try local.u16())
            local.position += nameLength + extraLength
        } catch let failure as Failure where failure.entry == nil {
            throw Failure(entry: name, reason: "its local header at byte \(localOffset) runs past the archive's end")
        }
        guard local.position <= bytes.count, compressedSize <= UInt64(bytes.count - local.position) else {
            throw Failure(entry: name, reason: "its \(compressedSize) bytes of data run past the archive's end")
        }
        return local.position..<(local.position + Int(compressedSize))
    }
}

/// Little-endian reads with bounds checks, for the zip structures.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    var remaining: Int { max(0, bytes.count - position) }

    mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard position >= 0, count >= 0, count <= bytes.count - position else {
            throw ZipArchive.Failure(entry: nil, reason: "a record at byte \(position) runs past the archive's end")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    mutating func u16() throws -> UInt16 { UInt16(littleEndian: try take(2).loadUnaligned(as: UInt16.self)) }
    mutating func u32() throws -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    mutating func u64() throws -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }

    /// A 64-bit offset or count that must fit within the archive.
    mutating func offset64() throws -> Int {
        let value = try u64()
        guard value <= UInt64(bytes.count) else {
            throw ZipArchive.Failure(entry: nil, reason: "a Zip64 field of \(value) is larger than the archive")
        }
        return Int(value)
    }
}
