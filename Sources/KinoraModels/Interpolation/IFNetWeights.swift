import KinoraFormats
import KinoraGPU
import KinoraTensor

/// The IFNet checkpoint's tensors as the blocks use them: each checked for its shape, uploaded as f32, some
/// rewritten first (β folded into its convolution, transposed convolutions turned into sub-pixel ones).
struct IFNetWeights {
    let store: any WeightStore
    let device: GPUDevice

    /// A 3×3 (or `kernel`) convolution's weight and bias, from `<name>.weight`/`.bias`, checked to be
    /// [outputs, inputs, k, k]; `channelScale` (RIFE's β) multiplies each output channel's weight and bias.
    func convolution(
        _ name: String, inputs: Int, outputs: Int? = nil, kernel: Int = 3,
        channelScale: [Float]? = nil
    ) throws -> (weight: Tensor, bias: Tensor, outputs: Int) {
        let info = try tensorInfo("\(name).weight")
        let count = outputs ?? info.shape.first ?? 0
        try expect("\(name).weight", info.shape, [count, inputs, kernel, kernel])
        try expect("\(name).bias", try tensorInfo("\(name).bias").shape, [count])
        var weight = try store.floats("\(name).weight")
        var bias = try store.floats("\(name).bias")
        if let channelScale {
            let perOutput = inputs * kernel * kernel
            for o in 0..<count {
                for k in 0..<perOutput { weight[o * perOutput + k] *= channelScale[o] }
                bias[o] *= channelScale[o]
            }
        }
        return (
            try Tensor(weight, shape: [count, inputs, kernel, kernel], on: device),
            try Tensor(bias, shape: [count], on: device), count
        )
    }

    /// A `ConvTranspose2d(inputs, outputs, 4, 2, 1)` as its sub-pixel 3×3 convolution to 4·outputs channels.
    func transposedConvolution(_ name: String, inputs: Int, outputs: Int) throws -> (weight: Tensor, bias: Tensor) {
        try expect("\(name).weight", try tensorInfo("\(name).weight").shape, [inputs, outputs, 4, 4])
        try expect("\(name).bias", try tensorInfo("\(name).bias").shape, [outputs])
        let rewritten = SubPixelTransposedConvolution(
            transposedWeight: try store.floats("\(name).weight"), bias: try store.floats("\(name).bias"),
            inChannels: inputs, outChannels: outputs)
        return (
            try Tensor(rewritten.weight, shape: [4 * outputs, inputs, 3, 3], on: device),
            try Tensor(rewritten.bias, shape: [4 * outputs], on: device)
        )
    }

    /// A residual block's β [1, C, 1, 1] as C values.
    func channelScale(_ name: String, channels: Int) throws -> [Float] {
        try expect(name, try tensorInfo(name).shape, [1, channels, 1, 1])
        return try store.floats(name)
    }

    func tensorInfo(_ name: String) throws -> WeightTensorInfo {
        do {
            return try store.info(name)
        } catch {
            throw RIFEError.unsupportedCheckpoint(file: store.sourceName, tensor: name, reason: "it is missing")
        }
    }

    func expect(_ name: String, _ shape: [Int], _ expected: [Int]) throws {
        guard shape == expected else {
            throw RIFEError.unsupportedCheckpoint(
                file: store.sourceName, tensor: name, reason: "has shape \(shape) where \(expected) is expected")
        }
    }
}
