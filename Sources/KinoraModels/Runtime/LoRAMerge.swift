import KinoraFormats
import KinoraGPU
import KinoraTensor

/// Adds LoRA updates to a weight on the device as it uploads: `W' = W + Σ factor · up · down`, computed in f32 and
/// stored back in the weight's own dtype (as diffusers' `fuse_lora` does), reshaped to a convolution kernel where
/// the weight is one. Runs on a private arena, trimmed afterwards, so a streamed pass's plan is not disturbed.
enum LoRAMerge {
    static func merged(_ weight: Tensor, patches: [LoRAPatch], device: GPUDevice) throws -> Tensor {
        let arena = ActivationArena(device: device)
        defer { arena.trim() }
        let graph = Graph(arena: arena)
        var sum = try graph.cast(graph.input(weight), to: .f32)
        for patch in patches {
            let target = patch.target
            let up = try upload(patch.file.store, target.upKey, shape: [target.deltaShape[0], target.rank], device)
            let down = try upload(patch.file.store, target.downKey,
                                  shape: [target.rank, target.deltaShape.dropFirst().reduce(1, *)], device)
            let delta = try graph.scale(graph.matmul(graph.input(up), graph.input(down)), by: patch.factor)
            sum = try graph.add(sum, graph.reshape(delta, weight.shape))
        }
        return try graph.run([graph.cast(sum, to: weight.dtype)])[0]
    }

    private static func upload(_ store: any WeightStore, _ key: String, shape: [Int], _ device: GPUDevice) throws
        -> Tensor {
        let info = try store.info(key)
        let dtype: DType
        switch info.dtype {
        case .f32: dtype = .f32
        case .f16: dtype = .f16
        case .bf16: dtype = .bf16
        default:
            throw WeightsError.unsupportedDType(file: store.sourceName, tensor: key, dtype: info.dtype.rawValue)
        }
        return try store.withBytes(of: key) { try Tensor(bytes: $0, shape: shape, dtype: dtype, on: device) }
    }
}
