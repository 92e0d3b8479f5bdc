import Foundation
import KinoraFormats

/// Writes a store's tensors as a PyTorch zip checkpoint laid out as `torch.save` lays it out
/// (`archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`, stored entries, 64-byte aligned data), its pickle
/// a protocol-2 `{"<wrapper>": OrderedDict(name → _rebuild_tensor_v2(...))}`. For tests: a `.ckpt` made from a
/// safetensors fixture must load to the same tensors, and the files seed the fuzzer. The format itself is checked
/// against torch in `PyTorchCheckpointTests` on files torch wrote.
public enum TorchCheckpointWriter {
    /// Writes every tensor of `store` (F32, F16, BF16 and integer types) under `wrapper` (nil: at the top level).
    public static func write(_ store: any WeightStore, wrapper: String? = "state_dict", to url: URL) throws {
        var pickle: [UInt8] = [0x80, 0x02]
        if let wrapper {
            pickle += [0x7D] + unicode(wrapper)  // EMPTY_DICT, key
        }
        pickle += global("collections", "OrderedDict") + [0x29, 0x52]  // OrderedDict()
        var records: [(name: String, bytes: [UInt8])] = []
        for (index, name) in store.tensorNames.enumerated() {
            let info = try store.info(name)
            let storageType: String
            switch info.dtype {
            case .f32: storageType = "FloatStorage"
            case .f16: storageType = "HalfStorage"
            case .bf16: storageType = "BFloat16Storage"
            case .i64: storageType = "LongStorage"
            case .i32: storageType = "IntStorage"
            default: continue
            }
            var strides: [Int] = []
            var stride = 1
            for size in info.shape.reversed() {
                strides.insert(stride, at: 0)
                stride *= size
            }
            pickle += unicode(name) + global("torch._utils", "_rebuild_tensor_v2") + [0x28]  // MARK
            pickle +=
                [0x28] + unicode("storage") + global("torch", storageType) + unicode(String(index))
                + unicode("cpu") + int(info.shape.reduce(1, *)) + [0x74, 0x51]  // TUPLE, BINPERSID
            pickle += int(0) + tuple(info.shape) + tuple(strides) + [0x89]  // offset, size, stride, False
            pickle += global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52]  // hooks; TUPLE; REDUCE
            pickle += [0x73]  // SETITEM
            records.append(("archive/data/\(index)", try store.withBytes(of: name) { Array($0) }))
        }
        if wrapper != nil { pickle += [0x73] }
        pickle += [0x2E]
        let entries = [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))] + records
        try Data(zip(entries)).write(to: url)
    }

    private static func unicode(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [0x58] + littleEndian(UInt32(utf8.count)) + utf8
    }

    private static func global(_ module: String, _ name: String) -> [UInt8] {
        [0x63] + Array("\(module)\n\(name)\n".utf8)
    }

    private static func int(_ value: Int) -> [UInt8] { [0x4A] + littleEndian(UInt32(truncatingIfNeeded: value)) }

    private static func tuple(_ values: [Int]) -> [UInt8] { [0x28] + values.flatMap(int) + [0x74] }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    /// A zip archive of stored entries, each entry's data aligned to 64 bytes through the local header's extra field.
    private static func zip(_ entries: [(String, [UInt8])]) -> [UInt8] {
        var archive: [UInt8] = []
        var directory: [UInt8] = []
        for (name, data) in entries {
            let offset = archive.count
            let nameBytes = Array(name.utf8)
            let headerEnd = offset + 30 + nameBytes.count + 4
            let padding = (64 - headerEnd % 64) % 64
            let crc = data.withUnsafeBytes { CRC32.checksum($0) }
            let common =
                littleEndian(UInt16(20)) + littleEndian(UInt16(0)) + littleEndian(UInt16(0))
                + littleEndian(UInt32(0)) + littleEndian(crc) + littleEndian(UInt32(data.count))
                + littleEndian(UInt32(data.count)) + littleEndian(UInt16(nameBytes.count))
            archive += littleEndian(UInt32(0x0403_4B50)) + common + littleEndian(UInt16(4 + padding)) + nameBytes
            archive +=
                littleEndian(UInt16(0xCAFE)) + littleEndian(UInt16(padding)) + [UInt8](repeating: 0, count: padding)
            archive += data
            directory +=
                littleEndian(UInt32(0x0201_4B50)) + littleEndian(UInt16(20)) + common
                + littleEndian(UInt16(0)) + littleEndian(UInt16(0)) + littleEndian(UInt16(0))
                + littleEndian(UInt16(0)) + littleEndian(UInt32(0)) + littleEndian(UInt32(offset)) + nameBytes
        }
        let directoryOffset = archive.count
        archive += directory
        archive +=
            littleEndian(UInt32(0x0605_4B50)) + littleEndian(UInt16(0)) + littleEndian(UInt16(0))
            + littleEndian(UInt16(entries.count)) + littleEndian(UInt16(entries.count))
            + littleEndian(UInt32(directory.count)) + littleEndian(UInt32(directoryOffset)) + littleEndian(UInt16(0))
        return archive
    }
}
