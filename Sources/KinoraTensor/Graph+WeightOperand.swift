/// How the kernels that read weights (matmul, conv) bind a weight and its bias.
extension Graph {
    /// A weight's shader-variant suffix, the bias operand as the kernel reads it, and the weight's per-tensor scale
    /// (the kernels' `w_scale` push constant, applied only by float8 variants).
    struct WeightOperand {
        var variant: String
        var bias: Value?
        var scale: Float
    }

    /// f32, f16 and bf16 weights read their bias in the weight's type (a bias of another type is cast to it).
    /// Float8 weights, whose files store biases in f32, f16 or bf16, read the bias in its own type, named by the
    /// variant (`matmul.f8e4m3fn_f16`); a float8 bias is widened to f32.
    func weightOperand(_ weight: Value, bias: Value?) throws -> WeightOperand {
        guard weight.dtype.isFloat8 else {
            return WeightOperand(
                variant: weight.dtype.variant, bias: try bias.map { try cast($0, to: weight.dtype) },
                scale: 1)
        }
        let bias = try bias.map { try widened($0) }
        return WeightOperand(
            variant: "\(weight.dtype.variant)_\((bias?.dtype ?? .f32).variant)", bias: bias,
            scale: scale(of: weight))
    }
}
