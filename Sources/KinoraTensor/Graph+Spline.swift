/// The rational-quadratic spline of neural spline flows, the invertible elementwise map in VITS's stochastic
/// duration predictor (Piper's `ConvFlow`).
extension Graph {
    /// The most bins `rationalQuadraticSpline` takes (the kernel's knot arrays are this long).
    public static let maxSplineBins = 64

    /// nflows' `unconstrained_rational_quadratic_spline` with linear tails: each element of `x` goes through its
    /// own monotonic spline on [−tailBound, tailBound] (identity outside), forward or, when `inverse`, backward.
    /// `widths` and `heights` are [..., K] unnormalised bin sizes (softmax-normalised with a floor of
    /// `minBinWidth`/`minBinHeight` per bin) and `derivatives` [..., K − 1] the unnormalised slopes at the inner
    /// knots (softplus plus `minDerivative`; the outer slopes are 1), with x's elements in the leading axes'
    /// row-major order. Returns y (x's shape); the log-determinant is not computed. All four operands and y are
    /// stored in the activation type (in Piper they come from convolutions); the spline is computed in f32.
    public func rationalQuadraticSpline(_ x: Value, widths: Value, heights: Value, derivatives: Value,
                                        tailBound: Float, inverse: Bool, minBinWidth: Float = 1e-3,
                                        minBinHeight: Float = 1e-3, minDerivative: Float = 1e-3) throws -> Value {
        let op = "rationalQuadraticSpline"
        for value in [x, widths, heights, derivatives] { try check(value, op) }
        let bins = widths.shape.last ?? 0
        guard bins >= 2, bins <= Self.maxSplineBins else {
            throw TensorError.invalidArgument(op: op, reason: "\(bins) bins; 2 to \(Self.maxSplineBins) are "
                + "supported")
        }
        guard widths.count == x.count * bins, heights.shape == widths.shape,
              derivatives.count == x.count * (bins - 1) else {
            throw TensorError.shapeMismatch(
                op: op, shapes: [x.shape, widths.shape, heights.shape, derivatives.shape],
                reason: "widths and heights need K = \(bins) values per element of x, derivatives K − 1")
        }
        guard tailBound > 0, minBinWidth * Float(bins) < 1, minBinHeight * Float(bins) < 1, minDerivative >= 0 else {
            throw TensorError.invalidArgument(
                op: op, reason: "tail bound \(tailBound) must be positive and the minimum bin sizes "
                    + "(\(minBinWidth), \(minBinHeight)) times \(bins) bins below 1")
        }
        let operands = try [x, widths, heights, derivatives].map {
            KernelCall.Operand(value: try activation($0).id, access: .read)
        }
        let call = KernelCall(
            shader: activationShader("rational_quadratic_spline"),
            specialization: [UInt32(Self.elementwiseThreads), 1, 1, inverse ? 1 : 0],
            pushConstants: [Launch.u32(x.count), Launch.u32(bins), Launch.bits(tailBound), Launch.bits(minBinWidth),
                            Launch.bits(minBinHeight), Launch.bits(minDerivative)],
            groups: Launch.grid(count: x.count, local: Self.elementwiseThreads), operands: operands,
            work: Double(x.count * bins * 12), label: op)
        return record(call, output: x.shape, dtype: activationDType)
    }
}
