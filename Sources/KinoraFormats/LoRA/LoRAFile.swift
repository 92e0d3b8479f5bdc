import Foundation

/// A LoRA adapter file read into its targets: every key parsed (`LoRAKey`), down, up and alpha paired per module, and
/// each pair's shapes checked (`LoRATarget`). Nothing is merged here; the tensors stay in `store` until a model
/// merges them into its weights.
public struct LoRAFile: Sendable {
    public let store: any WeightStore
    /// The adapted modules, sorted by component and module name.
    public let targets: [LoRATarget]

    /// Opens a LoRA file: safetensors, with the PEFT configuration diffusers stores in its metadata, or a PyTorch
    /// checkpoint (`.pt`, `.pth`, `.bin`, read without running its pickle).
    ///
    /// A training checkpoint that keeps the generator's adapter beside the critic's (LongLive's `lora.pt`:
    /// `{"generator_lora": {…}, "critic_lora": {…}, "step": …}`) gives the generator's.
    public init(url: URL) throws {
        var store = try WeightFile.open(url)
        let generator = "generator_lora."
        if store.tensorNames.contains(where: { $0.hasPrefix(generator) }) {
            store = PrefixStrippedWeightStore(base: store, prefix: generator)
        }
        try self.init(store: store, metadata: (store as? SafetensorsFile)?.metadata ?? [:])
    }

    /// Reads the LoRA layout of `store`'s keys, scaling pairs without an alpha as the file's `metadata` (safetensors
    /// `__metadata__`) configures them (`LoRAAdapterMetadata`). Throws `LoRAError` naming the first key that is
    /// unknown, of an adapter kind Kinora cannot merge, unpaired, or of the wrong shape, or a configuration that
    /// cannot be honoured.
    public init(store: any WeightStore, metadata: [String: String] = [:]) throws {
        self.store = store
        let file = store.sourceName
        let configuration = try LoRAAdapterMetadata(metadata, file: file)
        struct Group {
            var parsed: LoRAKey
            var down: String?
            var up: String?
            var alpha: String?
        }
        var groups: [String: Group] = [:]
        for key in store.tensorNames {
            let parsed = try LoRAKey(key, file: file)
            let id = "\(parsed.component.rawValue)/\(parsed.flattened ? "_" : ".")/\(parsed.module)"
            var group = groups[id] ?? Group(parsed: parsed)
            let slot: WritableKeyPath<Group, String?> = switch parsed.role {
            case .down: \.down
            case .up: \.up
            case .alpha: \.alpha
            }
            if let other = group[keyPath: slot] {
                throw LoRAError.duplicateTarget(file: file, first: other, second: key)
            }
            group[keyPath: slot] = key
            groups[id] = group
        }
        var targets: [LoRATarget] = []
        for group in groups.values {
            guard let down = group.down else {
                throw LoRAError.unpaired(file: file, key: group.up ?? group.alpha ?? "", missing: "down matrix")
            }
            guard let up = group.up else {
                throw LoRAError.unpaired(file: file, key: down, missing: "up matrix")
            }
            var alpha: (key: String, value: Float)?
            if let key = group.alpha {
                let values = try store.floats(key)
                guard values.count == 1 else {
                    throw LoRAError.badShape(file: file, key: key,
                                             reason: "alpha must be a scalar, found \(values.count) values")
                }
                alpha = (key, values[0])
            }
            let downShape = try store.info(down).shape
            let configured = alpha == nil && (downShape.count == 2 || downShape.count == 4)
                ? try configuration?.scale(component: group.parsed.component, module: group.parsed.module,
                                           rank: downShape.first ?? 0)
                : nil
            targets.append(try LoRATarget(down: (down, downShape), up: (up, try store.info(up).shape), alpha: alpha,
                                          parsed: group.parsed, file: file, configuredScale: configured))
        }
        guard !targets.isEmpty else { throw LoRAError.empty(file: file) }
        self.targets = targets.sorted { ($0.component, $0.module) < ($1.component, $1.module) }
    }

    /// The layouts the file's keys are written in (one, for every file a trainer writes).
    public var layouts: [LoRALayout] { Set(targets.map(\.layout)).sorted() }
}
