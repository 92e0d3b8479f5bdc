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
            let up = try patch.file.store.upload(target.upKey, shape: [target.deltaShape[0], target.rank], to: device)
            let down = try patch.file.store.upload(
                target.downKey, shape: [target.rank, target.deltaShape.dropFirst().reduce(1, *)], to: device)
            let delta = try graph.scale(graph.matmul(graph.input(up), graph.input(down)), by: patch.factor)
            sum = try graph.add(sum, graph.reshape(delta, weight.shape))
        }
        return try graph.run([graph.cast(sum, to: weight.dtype)])[0]
    }
}
