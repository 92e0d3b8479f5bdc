import KinoraFormats
import KinoraTensor

/// The device memory merging LoRA adapters takes while a model's weights upload (`LoRAMerge`), for planners that
/// have no device: beyond the weights themselves, which keep their size, each patched weight is merged on its own in
/// a private arena, trimmed afterwards, so the merge adds at most the scratch of its largest patched weight.
public enum LoRAMergeMemory {
    /// Device bytes beyond the model's weights that merging `files` into its `components` holds at the peak of one
    /// weight's merge, without knowing the weights' dtype (f32 assumed, the most): 0 when no file adapts them.
    /// Targets of several files that adapt the same module merge together, so their pairs add up.
    public static func scratchBytes(for files: [LoRAFile], components: Set<LoRAComponent>) throws -> UInt64 {
        var weights: [String: (elements: Int, pairs: [Pair])] = [:]
        for file in files {
            for target in file.targets where components.contains(target.component) {
                let key = target.component.rawValue + "/" + LoRAModuleResolver.flatten(target.module)
                let up = try file.store.info(target.upKey), down = try file.store.info(target.downKey)
                let pair = Pair(upBytes: up.byteCount, downBytes: down.byteCount, upElements: up.elementCount,
                                upIsF32: up.dtype == .f32)
                weights[key, default: (target.deltaShape.reduce(1, *), [])].pairs.append(pair)
            }
        }
        return weights.values.map { scratchBytes(elements: $0.elements, weightElementSize: 4, pairs: $0.pairs) }
            .max() ?? 0
    }

    /// One adapter pair as it uploads for a merge.
    struct Pair {
        var upBytes: Int
        var downBytes: Int
        var upElements: Int
        var upIsF32: Bool
    }

    /// What `LoRAMerge.merged` holds beyond the base weight while merging `pairs` into a weight of `elements`
    /// elements of `weightElementSize` bytes: the pairs as uploaded, three f32 arena slots of the weight's size (the
    /// running sum, `up · down`, and its scaled copy, reused by liveness across pairs), an f32 copy of each `up`
    /// the matmul needs when it is stored narrower, and the merged weight itself while the unmerged one is alive.
    static func scratchBytes(elements: Int, weightElementSize: Int, pairs: [Pair]) -> UInt64 {
        let f32Weight = ActivationArena.slotSize(for: UInt64(4 * elements))
        var bytes = 3 * f32Weight + UInt64(elements * weightElementSize)
        for pair in pairs {
            bytes += UInt64(pair.upBytes + pair.downBytes)
            if !pair.upIsF32 { bytes += ActivationArena.slotSize(for: UInt64(4 * pair.upElements)) }
        }
        return bytes
    }
}
