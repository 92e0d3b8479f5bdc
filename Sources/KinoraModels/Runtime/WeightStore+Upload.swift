import KinoraFormats
import KinoraGPU
import KinoraTensor

extension WeightStore {
    /// Uploads the tensor `name` to `device` in its file dtype (F32, F16 or BF16; other dtypes throw, naming the
    /// tensor), as `shape` when given (same element count) or as its own shape (a scalar as `[1]`).
    func upload(_ name: String, shape: [Int]? = nil, to device: GPUDevice) throws -> Tensor {
        let info = try info(name)
        let dtype: DType
        switch info.dtype {
        case .f32: dtype = .f32
        case .f16: dtype = .f16
        case .bf16: dtype = .bf16
        default:
            throw WeightsError.unsupportedDType(file: sourceName, tensor: name, dtype: info.dtype.rawValue)
        }
        let shape = shape ?? (info.shape.isEmpty ? [1] : info.shape)
        return try withBytes(of: name) { try Tensor(bytes: $0, shape: shape, dtype: dtype, on: device) }
    }
}
