import KinoraFormats
import KinoraGPU
import KinoraTensor

extension WeightStore {
    /// Uploads the tensor `name` to `device` in its file dtype (F32, F16, BF16, or float8 at one byte an element with
    /// its per-tensor scale attached; other dtypes throw, naming the tensor), as `shape` when given (same element
    /// count) or as its own shape (a scalar as `[1]`).
    func upload(_ name: String, shape: [Int]? = nil, to device: GPUDevice) throws -> Tensor {
        let info = try info(name)
        let dtype = try deviceType(name)
        let shape = shape ?? (info.shape.isEmpty ? [1] : info.shape)
        return try withBytes(of: name) {
            try Tensor(bytes: $0, shape: shape, dtype: dtype, scale: info.scale ?? 1, on: device)
        }
    }

    /// The device type the tensor `name` uploads as: its file dtype (F32, F16, BF16, float8); others throw, naming
    /// the tensor.
    func deviceType(_ name: String) throws -> DType {
        let info = try info(name)
        switch info.dtype {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .f8E4M3: return .f8e4m3fn
        case .f8E5M2: return .f8e5m2
        default:
            throw WeightsError.unsupportedDType(file: sourceName, tensor: name, dtype: info.dtype.rawValue)
        }
    }
}
