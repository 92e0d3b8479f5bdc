import KinoraFormats

/// One low-rank update waiting to be added to a model weight when it uploads: `W += factor · up · down`, with
/// `factor = strength · alpha / rank`.
public struct LoRAPatch: Sendable {
    /// The adapter file holding `target`'s tensors.
    public let file: LoRAFile
    public let target: LoRATarget
    public let factor: Float

    public init(file: LoRAFile, target: LoRATarget, strength: Float) {
        self.file = file
        self.target = target
        factor = strength * target.scale
    }

    /// Each weight's patches, for the LoRA targets of `component` in `adapters`, matched against the weights in
    /// `store`. `rename` gives, for a module name in another naming scheme (ldm), the model's name, dotted or
    /// flattened as the input was. Every target must find a weight of the right shape: a LoRA key that adapts
    /// nothing means the LoRA belongs to another model, and merging the rest would give a quietly different image.
    static func resolve(_ adapters: [(file: LoRAFile, strength: Float)], component: LoRAComponent,
                        store: (any WeightStore)?, model: String,
                        rename: (String, Bool) -> String? = { _, _ in nil }) throws -> [String: [LoRAPatch]] {
        let resolver = LoRAModuleResolver(weightNames: store?.tensorNames ?? [])
        var patches: [String: [LoRAPatch]] = [:]
        for (file, strength) in adapters {
            var claimed: [String: String] = [:]
            for target in file.targets where target.component == component {
                let source = file.store.sourceName
                guard let store,
                    let weight = resolver.weight(for: target.module, flattened: target.flattened)
                        ?? rename(target.module, target.flattened).flatMap({
                            resolver.weight(for: $0, flattened: target.flattened)
                        })
                else {
                    throw LoRAError.noMatchingWeight(file: source, key: target.downKey, model: model)
                }
                if let other = claimed[weight] {
                    throw LoRAError.duplicateTarget(file: source, first: other, second: target.downKey)
                }
                claimed[weight] = target.downKey
                let shape = try store.info(weight).shape
                let delta = target.deltaShape
                guard shape.first == delta.first, shape.reduce(1, *) == delta.reduce(1, *) else {
                    throw LoRAError.shapeMismatch(file: source, key: target.downKey, tensor: weight, delta: delta,
                                                  weight: shape)
                }
                patches[weight, default: []].append(LoRAPatch(file: file, target: target, strength: strength))
            }
        }
        return patches
    }
}
