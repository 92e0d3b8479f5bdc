import KinoraFormats
import KinoraGPU
import KinoraTensor

/// A model's weights on the device: tensors uploaded from a `WeightStore` on first use, in their file dtype (float8
/// included, one byte an element with its per-tensor scale; the kernels decode it).
///
/// LoRA `patches` (keyed by full weight name) are merged into their weights as those upload, so a weight that streams
/// is merged each time it streams in and the model never sees an unmerged copy.
///
/// `prefix` scopes names the way a model's submodules do (`weights.scoped("encoder.layers.0")`), so a block reads
/// its parameters by their reference-implementation names.
public final class DeviceWeights: @unchecked Sendable {
    public let store: WeightStore
    public let device: GPUDevice
    public let prefix: String
    public let patches: [String: [LoRAPatch]]
    private let cache: Cache

    private final class Cache: @unchecked Sendable {
        var tensors: [String: Tensor] = [:]
        var shapesOnly = false
    }

    public init(store: WeightStore, device: GPUDevice, prefix: String = "", patches: [String: [LoRAPatch]] = [:]) {
        self.store = store
        self.device = device
        self.prefix = prefix
        self.patches = patches
        cache = Cache()
    }

    /// Weights known by their shapes alone: `value` gives graph placeholders and nothing is read or uploaded, so a
    /// full-size model's graphs can be recorded to check their shapes and dispatches (`Graph.limitViolations`),
    /// not run.
    public static func shapesOnly(store: WeightStore, device: GPUDevice) -> DeviceWeights {
        let weights = DeviceWeights(store: store, device: device)
        weights.cache.shapesOnly = true
        return weights
    }

    private init(parent: DeviceWeights, prefix: String) {
        store = parent.store
        device = parent.device
        patches = parent.patches
        self.prefix = prefix
        cache = parent.cache
    }

    /// The weights under `name` (joined with a dot).
    public func scoped(_ name: String) -> DeviceWeights {
        DeviceWeights(parent: self, prefix: qualified(name))
    }

    /// Whether the store has `name` under this scope.
    public func contains(_ name: String) -> Bool {
        (try? store.info(qualified(name))) != nil
    }

    /// The device tensor for `name`, uploaded on first request. F32, F16, BF16 and float8 keep their type (a float8
    /// weight that LoRA patches adapt is merged into F16 or F32, see `LoRAMerge`); others throw.
    public func tensor(_ name: String) throws -> Tensor {
        let full = qualified(name)
        if let cached = cache.tensors[full] { return cached }
        var tensor = try store.upload(full, to: device)
        if let patches = patches[full] {
            tensor = try LoRAMerge.merged(tensor, patches: patches, device: device)
        }
        cache.tensors[full] = tensor
        return tensor
    }

    /// `name` as a graph input, checked against `shape` when given.
    public func value(_ name: String, in graph: Graph, shape: [Int]? = nil) throws -> Value {
        if cache.shapesOnly {
            let info = try store.info(qualified(name))
            let stored = info.shape.isEmpty ? [1] : info.shape
            if let shape, stored != shape {
                throw WeightsError.malformedEntry(
                    file: store.sourceName, tensor: qualified(name),
                    reason: "expected shape \(shape), found \(info.shape)")
            }
            return try graph.placeholder(shape: stored, dtype: store.deviceType(qualified(name)))
        }
        let tensor = try tensor(name)
        if let shape, tensor.shape != shape {
            throw WeightsError.malformedEntry(file: store.sourceName, tensor: qualified(name),
                                              reason: "expected shape \(shape), found \(tensor.shape)")
        }
        return graph.input(tensor)
    }

    /// The layer's `bias` under this scope as a graph input, checked against `shape` when given.
    ///
    /// `required` when the architecture creates the layer with a bias (PyTorch's `bias=True`): a checkpoint without
    /// it is incomplete or made for another architecture, and running without it would silently give wrong output,
    /// so it throws `WeightsError.missingTensor` naming the tensor and the file. Otherwise the architecture leaves
    /// the bias out (diffusers' attention `to_q`, `to_k`, `to_v`): it is read when a checkpoint has one, else nil.
    public func bias(in graph: Graph, shape: [Int]? = nil, required: Bool) throws -> Value? {
        guard contains("bias") else {
            guard !required else { throw WeightsError.missingTensor(file: store.sourceName, tensor: qualified("bias")) }
            return nil
        }
        return try value("bias", in: graph, shape: shape)
    }

    /// Bytes of the tensors uploaded so far.
    public var uploadedBytes: Int { cache.tensors.values.reduce(0) { $0 + $1.byteCount } }

    /// Full names of the tensors uploaded so far (shared by every scope of one model).
    public var uploadedNames: Set<String> { Set(cache.tensors.keys) }

    /// Drops the uploaded tensors named in `names` (full names, as `uploadedNames` lists them): their device memory
    /// is freed once no recorded graph holds them, and they upload again on their next request.
    public func evict(_ names: Set<String>) {
        for name in names { cache.tensors[name] = nil }
    }

    private func qualified(_ name: String) -> String {
        prefix.isEmpty ? name : "\(prefix).\(name)"
    }
}
