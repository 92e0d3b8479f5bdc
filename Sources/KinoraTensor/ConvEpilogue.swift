/// What a convolution does to each output value before storing it, fused into the convolution kernel so that the
/// activation and the residual add cost no extra pass over the feature map (ncnn fuses the activation the same way;
/// Real-ESRGAN runs hundreds of convolutions, each followed by one of these).
public struct ConvEpilogue: Sendable {
    /// An activation applied after the bias.
    public enum Activation: Sendable {
        case none
        /// `x < 0 ? x · slope : x` (PyTorch's `LeakyReLU(negative_slope)`, ncnn's activation type 2).
        case leakyReLU(slope: Float)
        /// `x < 0 ? x · slopes[c] : x` with one slope per output channel (PyTorch's `PReLU(num_parameters)`);
        /// `slopes` is an f32 tensor of `outChannels` elements.
        case prelu(slopes: Value)
    }

    /// The activation applied to `conv + bias`.
    public var activation: Activation
    /// When set, the stored value is `activation(conv + bias) · outputScale + residual` (a tensor of the output's
    /// shape, read in the graph's activation type).
    public var residual: Value?
    /// The factor on the activated value before `residual` is added; ignored without a residual.
    public var outputScale: Float
    /// Adds the (scaled) residual before the activation instead of after it:
    /// `activation((conv + bias) · outputScale + residual)` (RIFE's `leaky_relu(conv(x) · β + x)`).
    public var residualBeforeActivation: Bool

    public init(
        activation: Activation = .none, residual: Value? = nil, outputScale: Float = 1,
        residualBeforeActivation: Bool = false
    ) {
        self.activation = activation
        self.residual = residual
        self.outputScale = outputScale
        self.residualBeforeActivation = residualBeforeActivation
    }

    /// Nothing fused: the convolution's value plus its bias is stored.
    public static let none = ConvEpilogue()
}
