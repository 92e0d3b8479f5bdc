import KinoraFormats
import KinoraGPU
import KinoraTensor

/// Adds LoRA updates to a weight on the device as it uploads: `W' = W + Σ factor · up · down`, computed in f32 and
/// stored back in the weight's own dtype (as diffusers' `fuse_lora` does), reshaped to a convolution kernel where
/// the weight is one. Runs on a private arena, trimmed afterwards, so a streamed pass's plan is not disturbed.
///
/// A float8 weight is stored back in F16 (F32 where its scale could take it past F16's range, as
/// `FP8ExpandingWeightStore` reads it): no kernel writes float8, and rounding the sum back to three mantissa bits
/// would lose most of a LoRA's update (ComfyUI rounds stochastically for that reason). Such a weight takes two
/// bytes an element (or four) on the device instead of one; `deviceBytes(of:patches:)` counts it so.
enum LoRAMerge {
    /// The dtype a weight of `dtype` with per-tensor `scale` is stored in once merged.
    static func mergedType(_ dtype: DType, scale: Float) -> DType {
        guard dtype.isFloat8 else { return dtype }
        let largest: Float = dtype == .f8e4m3fn ? 448 : 57344
        return largest * abs(scale) <= 65504 ? .f16 : .f32
    }

    /// Device bytes of every tensor of `store` once uploaded with `patches` (keyed by tensor name) merged in: the
    /// file's bytes, but for the float8 weights that patches adapt, which merge into a wider type.
    static func deviceBytes(of store: any WeightStore, patches: [String: [LoRAPatch]]) -> Int {
        store.tensorNames.reduce(0) { total, name in
            guard let info = try? store.info(name) else { return total }
            guard patches[name] != nil, info.dtype.isFloat8 else { return total + info.byteCount }
            let dtype = mergedType(info.dtype == .f8E4M3 ? .f8e4m3fn : .f8e5m2, scale: info.scale ?? 1)
            return total + info.elementCount * dtype.size
        }
    }

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
        return try graph.run([graph.cast(sum, to: mergedType(weight.dtype, scale: weight.scale))])[0]
    }
}
