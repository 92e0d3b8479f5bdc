import Foundation
import KinoraFormats

/// Test copies of a model in ComfyUI's scaled float8 layout (`*_fp8_e4m3fn_scaled.safetensors`): every matrix in
/// e4m3fn with its `scale_weight`, and the same weights expanded back to f32 as the reference they must reproduce.
enum ScaledFloat8File {
    /// The e4m3fn byte nearest to `value` (a finite value within ±448), by search over the 254 finite codes.
    static func e4m3(_ value: Float) -> UInt8 {
        var best: UInt8 = 0
        var distance = Float.infinity
        for code in 0...255 where code & 0x7F != 0x7F {
            let candidate = abs(HalfPrecision.float(fromE4M3: UInt8(code)) - value)
            if candidate < distance { (best, distance) = (UInt8(code), candidate) }
        }
        return best
    }

    /// Writes `store` to `url` with every 2-D tensor in e4m3fn beside a power-of-two `scale_weight` at least
    /// max|w| / 448 (so each byte's f32 expansion is exact), the other tensors as `others`, and the `scaled_fp8`
    /// marker. Returns how many tensors became float8.
    @discardableResult
    static func write(_ store: any WeightStore, to url: URL, others: WeightDType = .f32) throws -> Int {
        var writer = SafetensorsWriter()
        var float8Count = 0
        for name in store.tensorNames {
            let info = try store.info(name)
            let values = try store.floats(name)
            guard info.shape.count == 2 else {
                try writer.add(name, shape: info.shape, floats: values, as: others)
                continue
            }
            let ratio = (values.map(\.magnitude).max() ?? 0) / 448
            let scale = ratio > 0 ? Float(sign: .plus, exponent: ratio.exponent + 1, significand: 1) : 1
            try writer.add(String(name.dropLast("weight".count)) + "scale_weight", shape: [], floats: [scale])
            try writer.add(name, dtype: .f8E4M3, shape: info.shape, bytes: values.map { e4m3($0 / scale) })
            float8Count += 1
        }
        try writer.add("scaled_fp8", dtype: .f8E4M3, shape: [0], bytes: [])
        try writer.write(to: url)
        return float8Count
    }

    /// The f32 expansion of `float8` (scales applied on the host), written to `url` and opened.
    static func expansion(of float8: any WeightStore, to url: URL) throws -> SafetensorsFile {
        var reference = SafetensorsWriter()
        let expanded = try FP8ExpandingWeightStore(base: float8)
        for name in expanded.tensorNames {
            try reference.add(name, shape: try expanded.info(name).shape, floats: try expanded.floats(name))
        }
        try reference.write(to: url)
        return try SafetensorsFile(url: url)
    }
}
