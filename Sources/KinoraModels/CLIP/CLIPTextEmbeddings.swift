import KinoraFormats
import KinoraTensor

/// CLIP's token and position embeddings (`CLIPTextEmbeddings`): `token_embedding.weight[id] +
/// position_embedding.weight[position]`.
///
/// The gather runs on the host: a prompt batch needs only B·77 rows, read straight from the mapped weight file in
/// its dtype (float8 times its per-tensor scale), so the vocabulary table (49 408 rows: 150 MB for CLIP-L in f32,
/// 250 MB for bigG in f16) never goes to the device. The sum is uploaded as one f32 graph input [B, L, hidden].
struct CLIPTextEmbeddings {
    let configuration: CLIPTextConfig
    let weights: DeviceWeights

    init(configuration: CLIPTextConfig, weights: DeviceWeights) throws {
        self.configuration = configuration
        self.weights = weights
        let width = configuration.hiddenSize
        for (name, rows) in [("token_embedding.weight", configuration.vocabSize),
                             ("position_embedding.weight", configuration.maxPositionEmbeddings)] {
            let info = try weights.store.info(qualified(name))
            guard info.shape == [rows, width] else {
                throw CLIPError.weightsMismatch(file: weights.store.sourceName, tensor: qualified(name),
                                                reason: "expected shape \([rows, width]) from config.json, found "
                                                    + "\(info.shape)")
            }
            guard info.dtype.isWeightType else {
                throw WeightsError.unsupportedDType(file: weights.store.sourceName, tensor: qualified(name),
                                                    dtype: info.dtype.rawValue)
            }
        }
    }

    /// The embeddings of `ids` (validated: B ≥ 1 rows of one length L ≤ max_position_embeddings, each id inside
    /// the vocabulary) as a graph input [B, L, hidden].
    func callAsFunction(_ graph: Graph, ids: [[Int32]]) throws -> Value {
        let width = configuration.hiddenSize
        let length = ids[0].count
        let tokens = try rows(of: "token_embedding.weight", ids.flatMap { $0.map(Int.init) })
        let positions = try rows(of: "position_embedding.weight", Array(0..<length))
        var values = tokens
        for index in values.indices {
            values[index] += positions[index % (length * width)]
        }
        return try graph.input(values, shape: [ids.count, length, width])
    }

    /// Rows `indices` of the [rows, hidden] table `name`, as f32, concatenated.
    private func rows(of name: String, _ indices: [Int]) throws -> [Float] {
        let full = qualified(name)
        let info = try weights.store.info(full)
        let dtype = info.dtype, scale = info.scale ?? 1
        let width = configuration.hiddenSize
        return try weights.store.withBytes(of: full) { bytes in
            var values = [Float]()
            values.reserveCapacity(indices.count * width)
            for row in indices {
                let start = row * width * dtype.size
                for column in 0..<width {
                    let offset = start + column * dtype.size
                    switch dtype {
                    case .f16:
                        let bits = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
                        values.append(Float(Float16(bitPattern: UInt16(littleEndian: bits))))
                    case .bf16:
                        let bits = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
                        values.append(Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16))
                    case .f8E4M3:
                        values.append(HalfPrecision.float(fromE4M3: bytes[offset]) * scale)
                    case .f8E5M2:
                        values.append(HalfPrecision.float(fromE5M2: bytes[offset]) * scale)
                    default:
                        let bits = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                        values.append(Float(bitPattern: UInt32(littleEndian: bits)))
                    }
                }
            }
            return values
        }
    }

    private func qualified(_ name: String) -> String {
        weights.prefix.isEmpty ? name : "\(weights.prefix).\(name)"
    }
}
