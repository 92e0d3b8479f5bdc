import KinoraFormats
import KinoraTensor

extension WeightStore {
    /// The type most of the tensors under `scope` (a name prefix, all when empty) upload as: f32, f16, bf16 or
    /// float8, counted by elements; f32 when there are none. A model's weight storage type, which its activations
    /// run in unless told otherwise (`ActivationPrecision.resolve`), as diffusers runs a model in its `torch_dtype`.
    public func storageType(under scope: String = "") -> DType {
        let prefix = scope.isEmpty ? "" : scope + "."
        var elements: [DType: Int] = [:]
        for name in tensorNames where name.hasPrefix(prefix) {
            guard let dtype = try? deviceType(name), let info = try? info(name) else { continue }
            elements[dtype, default: 0] += info.shape.reduce(1, *)
        }
        return elements.max { $0.value < $1.value || ($0.value == $1.value && $0.key.size < $1.key.size) }?.key
            ?? .f32
    }
}

extension DeviceWeights {
    /// The storage type of the weights under this scope (`WeightStore.storageType(under:)`).
    public var storageType: DType { store.storageType(under: prefix) }
}
