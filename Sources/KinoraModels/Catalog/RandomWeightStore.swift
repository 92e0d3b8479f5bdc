import KinoraFormats
/// A `WeightStore` that holds no file: every tensor of a name → shape table is synthesised on request as
/// deterministic pseudo-random F16 values (uniform magnitude in [2⁻⁷, 2⁻⁵), random sign: about 0.02 in scale).
///
/// Values depend only on `seed` and the tensor's name, so a tensor reads the same every time and independently of
/// the others; nothing is kept in memory between calls. For memory and speed measurements of full-size
/// architectures without downloading checkpoints, never for output quality.
public struct RandomWeightStore: WeightStore {
    public let sourceName: String
    public let tensorNames: [String]
    private let table: [String: WeightTensorInfo]
    private let seed: UInt64

    /// A store for `shapes` (tensor name → shape), named `sourceName` in messages.
    public init(shapes: [String: [Int]], sourceName: String, seed: UInt64 = 0) {
        self.sourceName = sourceName
        self.seed = seed
        tensorNames = shapes.keys.sorted()
        var table: [String: WeightTensorInfo] = [:]
        var offset = 0
        for name in tensorNames {
            let shape = shapes[name]!
            let bytes = shape.reduce(1, *) * WeightDType.f16.size
            table[name] = WeightTensorInfo(name: name, dtype: .f16, shape: shape,
                                                dataRange: offset..<offset + bytes)
            offset += bytes
        }
        self.table = table
    }

    /// Bytes of all tensors (F16).
    public var totalBytes: Int { table.values.reduce(0) { $0 + $1.byteCount } }

    public func info(_ name: String) throws -> WeightTensorInfo {
        guard let info = table[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
        return info
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws
        -> Result {
        let info = try info(name)
        let words = (info.byteCount + 7) / 8
        let storage = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: words)
        defer { storage.deallocate() }
        Self.fill(storage, seed: seed ^ Self.hash(name))
        return try body(UnsafeRawBufferPointer(start: storage.baseAddress, count: info.byteCount))
    }

    /// Four F16 values per SplitMix64 output: each 16-bit lane keeps its sign, mantissa and lowest exponent bit,
    /// and gets exponent field 8 or 9 (magnitudes in [2⁻⁷, 2⁻⁵)).
    private static func fill(_ words: UnsafeMutableBufferPointer<UInt64>, seed: UInt64) {
        var state = seed
        for index in words.indices {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            words[index] = (z & 0x87FF_87FF_87FF_87FF) | 0x2000_2000_2000_2000
        }
    }

    /// FNV-1a over the name's UTF-8 bytes.
    private static func hash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
