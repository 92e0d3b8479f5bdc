/// Bilinear and bicubic resampling of [N, C, H, W] maps (PyTorch's `F.interpolate`, ncnn's `Interp`), over whole
/// images or over windows (tiles) of them.
extension Graph {
    /// The resampling filter.
    public enum ResizeFilter: UInt32, Sendable {
        /// Two taps per axis; the source coordinate is clamped into the image.
        case bilinear = 0
        /// Keys' cubic convolution with A = −0.75 over four taps per axis, tap indices clamped into the image
        /// (PyTorch's `bicubic`, ncnn's `Interp 0=3`).
        case bicubic = 1
    }

    /// Where a resize's output and input windows sit in the whole images, so a tile resamples exactly as the
    /// whole image would.
    public struct ResizeWindow: Sendable, Equatable {
        /// The whole output image's index of the output's first row and column.
        public var outputOrigin: (y: Int, x: Int)
        /// The whole source image's index of the input's first row and column.
        public var inputOrigin: (y: Int, x: Int)
        /// The whole source image's size (taps are clamped into it).
        public var sourceSize: (height: Int, width: Int)

        public init(
            outputOrigin: (y: Int, x: Int), inputOrigin: (y: Int, x: Int),
            sourceSize: (height: Int, width: Int)
        ) {
            self.outputOrigin = outputOrigin
            self.inputOrigin = inputOrigin
            self.sourceSize = sourceSize
        }

        public static func == (a: ResizeWindow, b: ResizeWindow) -> Bool {
            a.outputOrigin == b.outputOrigin && a.inputOrigin == b.inputOrigin && a.sourceSize == b.sourceSize
        }
    }

    /// Resamples `x` [N, C, H, W] to [N, C, height, width]. Output pixel d samples source coordinate
    /// (d + 0.5)·scale − 0.5, or d·scale with `alignCorners`. `scale` (source pixels per output pixel) defaults to
    /// what PyTorch and ncnn derive from the sizes: in/out, or (in − 1)/(out − 1) with `alignCorners`; PyTorch
    /// given a `scale_factor` uses 1/scale_factor instead, so pass that. With `window`, `x` and the result are
    /// windows of larger images (see `ResizeWindow`); taps beyond `x` but inside the source are clamped to `x`, so
    /// give the input window a margin of 2 source pixels where it is not at the image's edge. The input and the
    /// result are stored in the activation type; the interpolation is f32.
    public func resize(
        _ x: Value, height: Int, width: Int, filter: ResizeFilter, alignCorners: Bool = false,
        scale: (y: Double, x: Double)? = nil, window: ResizeWindow? = nil
    ) throws -> Value {
        let op = "resize"
        try check(x, op)
        guard x.rank == 4 else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape], reason: "needs [N, C, H, W]")
        }
        guard height >= 1, width >= 1 else {
            throw TensorError.invalidArgument(op: op, reason: "output size \(height)×\(width) must be at least 1×1")
        }
        let window =
            window
            ?? ResizeWindow(
                outputOrigin: (0, 0), inputOrigin: (0, 0),
                sourceSize: (x.shape[2], x.shape[3]))
        let source = window.sourceSize
        guard source.height >= 1, source.width >= 1, window.inputOrigin.y >= 0, window.inputOrigin.x >= 0,
            window.outputOrigin.y >= 0, window.outputOrigin.x >= 0,
            window.inputOrigin.y + x.shape[2] <= source.height, window.inputOrigin.x + x.shape[3] <= source.width
        else {
            throw TensorError.invalidArgument(
                op: op,
                reason: "input window at \(window.inputOrigin) of \(x.shape[2])×\(x.shape[3]) does not lie "
                    + "in the \(source.height)×\(source.width) source")
        }
        func derived(_ input: Int, _ output: Int) -> Double {
            if alignCorners { return output > 1 ? Double(input - 1) / Double(output - 1) : 0 }
            return Double(input) / Double(output)
        }
        // Without a window the output is the whole image, so the sizes give the scale.
        let scale = scale ?? (derived(source.height, height), derived(source.width, width))
        guard scale.y.isFinite, scale.x.isFinite, scale.y >= 0, scale.x >= 0 else {
            throw TensorError.invalidArgument(op: op, reason: "scale \(scale) must be finite and non-negative")
        }
        let count = x.shape[0] * x.shape[1] * height * width
        let pushConstants: [UInt32] =
            [count, x.shape[2], x.shape[3], height, width].map(Launch.u32)
            + [Launch.bits(Float(scale.y)), Launch.bits(Float(scale.x))]
            + [
                window.outputOrigin.y, window.outputOrigin.x, window.inputOrigin.y, window.inputOrigin.x,
                source.height, source.width,
            ].map(Launch.u32)
        let call = KernelCall(
            shader: activationShader("resize"),
            specialization: [
                UInt32(Self.elementwiseThreads), 1, 1, filter.rawValue,
                alignCorners ? 1 : 0,
            ],
            pushConstants: pushConstants, groups: Launch.grid(count: count, local: Self.elementwiseThreads),
            operands: [.init(value: try activation(x).id, access: .read)],
            work: Double(count * (filter == .bicubic ? 32 : 8)), label: "resize \(filter)")
        return record(call, output: [x.shape[0], x.shape[1], height, width], dtype: activationDType)
    }
}
