import KinoraFormats
import KinoraGPU
import KinoraTensor

/// The token embedding `shared` (`nn.Embedding(vocab_size, d_model)`, tied to `encoder.embed_tokens`): row `id` of
/// the table for every token.
///
/// The gather runs on the host, straight from the memory-mapped weight file in its dtype: a prompt batch needs only
/// B·L rows, so the table (256384 × 4096 for UMT5-XXL: 1 GB in bf16) never goes to the device. The rows come out
/// as f32 [B, L, d_model], the first hidden states.
struct UMT5Embedding {
    let configuration: UMT5Config
    let store: any WeightStore
    /// The table's full name: `shared.weight`, or `encoder.embed_tokens.weight` in files that keep only the tied copy.
    let name: String
    let dtype: WeightDType
    /// A float8 table's per-tensor scale (ComfyUI's `scale_weight`), 1 for other dtypes.
    let scale: Float

    init(configuration: UMT5Config, weights: DeviceWeights) throws {
        let local = weights.contains("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight"
        name = weights.prefix.isEmpty ? local : "\(weights.prefix).\(local)"
        store = weights.store
        self.configuration = configuration
        let info: WeightTensorInfo
        do {
            info = try store.info(name)
        } catch {
            throw WeightsError.missingTensor(file: store.sourceName, tensor: "shared.weight")
        }
        let expected = [configuration.vocabSize, configuration.dModel]
        guard info.shape == expected else {
            throw UMT5Error.weightsMismatch(
                file: store.sourceName, tensor: name,
                reason: "expected shape \(expected) (vocab_size, d_model), found "
                    + "\(info.shape)")
        }
        guard [.f32, .f16, .bf16, .f8E4M3, .f8E5M2].contains(info.dtype) else {
            throw WeightsError.unsupportedDType(file: store.sourceName, tensor: name, dtype: info.dtype.rawValue)
        }
        dtype = info.dtype
        scale = info.scale ?? 1
    }

    /// The rows of `ids` (validated against the vocabulary), concatenated: B·L·d_model values, row-major.
    func rows(_ ids: [[Int]]) throws -> [Float] {
        let width = configuration.dModel
        let rowBytes = width * dtype.size
        return try store.withBytes(of: name) { table in
            var values = [Float]()
            values.reserveCapacity(ids.count * (ids.first?.count ?? 0) * width)
            for id in ids.joined() {
                let row = UnsafeRawBufferPointer(rebasing: table[(id * rowBytes)..<((id + 1) * rowBytes)])
                let decoded = TensorDecoding.floats(row, dtype: dtype, count: width)
                values += scale == 1 ? decoded : decoded.map { $0 * scale }
            }
            return values
        }
    }

    /// The embeddings of `ids` as a device tensor [B, L, d_model] f32.
    func tensor(_ ids: [[Int]], on device: GPUDevice) throws -> Tensor {
        try Tensor(rows(ids), shape: [ids.count, ids[0].count, configuration.dModel], on: device)
    }
}
