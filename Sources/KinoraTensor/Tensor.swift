import KinoraGPU

/// A dense, row-major tensor on the device: a shape, a storage type and a byte range of a device buffer.
///
/// Reshapes and leading-axis slices are views of the same storage when the device's binding alignment allows.
/// A float8 tensor carries a per-tensor `scale`: its values are the stored ones times the scale.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let dtype: DType
    /// The factor a float8 tensor's stored values are multiplied by (ComfyUI's `scale_weight`); 1 for other types.
    public let scale: Float
    public let device: GPUDevice
    let buffer: GPUBuffer
    let byteOffset: UInt64

    init(shape: [Int], dtype: DType, scale: Float = 1, device: GPUDevice, buffer: GPUBuffer, byteOffset: UInt64 = 0) {
        self.shape = shape
        self.dtype = dtype
        self.scale = scale
        self.device = device
        self.buffer = buffer
        self.byteOffset = byteOffset
    }

    /// Uploads `values` (row-major, converted to `dtype`, float8 rounding to nearest even) into a new tensor.
    public init(_ values: [Float], shape: [Int], dtype: DType = .f32, on device: GPUDevice) throws {
        let count = shape.reduce(1, *)
        guard values.count == count else { throw TensorError.dataLength(expected: count, got: values.count) }
        try Self.validate(shape: shape, op: "Tensor")
        let bytes = HostConversion.bytes(of: values, as: dtype)
        let buffer = try device.allocate(bytes: Self.storageBytes(bytes.count))
        try bytes.withUnsafeBytes { try device.upload($0, to: buffer) }
        self.init(shape: shape, dtype: dtype, device: device, buffer: buffer)
    }

    /// Uploads raw elements already in `dtype`'s layout (little-endian, row-major), e.g. straight from a weight file.
    /// `scale` is a float8 tensor's per-tensor factor (finite); other types take none.
    public init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType, scale: Float = 1, on device: GPUDevice)
        throws
    {
        try Self.validate(shape: shape, op: "Tensor")
        let count = shape.reduce(1, *)
        guard bytes.count == count * dtype.size else {
            throw TensorError.dataLength(expected: count, got: bytes.count / dtype.size)
        }
        guard scale.isFinite, dtype.isFloat8 || scale == 1 else {
            throw TensorError.invalidArgument(
                op: "Tensor", reason: "scale \(scale) must be finite, and only float8 tensors take one (\(dtype))")
        }
        let buffer = try device.allocate(bytes: Self.storageBytes(bytes.count))
        try device.upload(bytes, to: buffer)
        self.init(shape: shape, dtype: dtype, scale: scale, device: device, buffer: buffer)
    }

    /// A tensor whose storage is allocated but not written: what it holds is undefined until ops write it (a cache
    /// that `Graph.write` fills step by step, read only where written). Nothing is uploaded.
    public static func unwritten(shape: [Int], dtype: DType = .f32, on device: GPUDevice) throws -> Tensor {
        try validate(shape: shape, op: "Tensor")
        guard !dtype.isFloat8 else {
            throw TensorError.invalidArgument(op: "Tensor", reason: "no kernel writes float8")
        }
        let buffer = try device.allocate(bytes: storageBytes(shape.reduce(1, *) * dtype.size))
        return Tensor(shape: shape, dtype: dtype, device: device, buffer: buffer)
    }

    /// Device bytes for `bytes` of elements: whole 32-bit words, since kernels read float8 bytes four to a word.
    static func storageBytes(_ bytes: Int) -> UInt64 {
        UInt64(max((bytes + 3) / 4 * 4, 4))
    }

    /// Elements in the tensor.
    public var count: Int { shape.reduce(1, *) }
    /// Bytes of the elements.
    public var byteCount: Int { count * dtype.size }

    /// Downloads the elements as `Float`s (converted from the storage type, times a float8 tensor's scale).
    public func floats() throws -> [Float] {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        try bytes.withUnsafeMutableBytes { try device.download(buffer, offset: byteOffset, into: $0) }
        let values = bytes.withUnsafeBytes { HostConversion.floats(from: $0, as: dtype, count: count) }
        return scale == 1 ? values : values.map { $0 * scale }
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else {
            throw TensorError.shapeMismatch(op: "reshape", shapes: [shape, newShape], reason: "element counts differ")
        }
        return Tensor(
            shape: newShape, dtype: dtype, scale: scale, device: device, buffer: buffer, byteOffset: byteOffset)
    }

    static func validate(shape: [Int], op: String) throws {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
            throw TensorError.invalidArgument(op: op, reason: "shape \(shape) must have at least one axis, all > 0")
        }
    }
}
