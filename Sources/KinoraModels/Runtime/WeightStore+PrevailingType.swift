import KinoraFormats
import KinoraTensor

extension WeightStore {
    /// The device type that holds most of the elements of the tensors under `prefix` (all of them when empty): a
    /// model's weights' type, which `ActivationPrecision.resolve` makes its activation type by default. A file that
    /// keeps a few small tensors wider (norms, embeddings, an fp8 file's unscaled layers) counts as its bulk's type;
    /// f32 when nothing is found.
    public func prevailingDeviceType(under prefix: String = "") -> DType {
        let scope = prefix.isEmpty ? "" : prefix + "."
        var elements: [DType: Int] = [:]
        for name in tensorNames where name.hasPrefix(scope) {
            guard let dtype = try? deviceType(name), let info = try? info(name) else { continue }
            elements[dtype, default: 0] += info.elementCount
        }
        return elements.max { ($0.value, $0.key.rawValue) < ($1.value, $1.key.rawValue) }?.key ?? .f32
    }
}
