import KinoraReference
import KinoraTensor

/// One kernel (and variant) checked against its double-precision CPU reference on random inputs of awkward sizes:
/// the check passes when the relative L2 error of the device's result is within `tolerance`.
public struct ConformanceCase {
    /// The kernel and variant, then the shape, e.g. `matmul shared-memory f16 130x257x70`.
    public var name: String
    /// The largest relative L2 error allowed (the tensor tests' tolerance for the same kernel).
    public var tolerance: Double
    /// Why the case cannot run on the device it was made for (no tensor cores, say); nil when it runs.
    public var skipReason: String?
    /// Why the case has no 16-bit-activation runs (an op whose result does not depend on the activation type, or
    /// whose inputs must stay f32); nil when `withActivations(_:)` makes them.
    public var halfExemption: String?
    /// The tolerance of the case's 16-bit-activation runs, when the op amplifies rounding more than
    /// `halfToleranceFloor` allows for (nil: the floor).
    public var halfTolerance: Double?
    /// The storage type of the activations the case's graphs record (`ConformanceContext.graph`): f32, f16 or bf16.
    public private(set) var activations = DType.f32
    /// Records the kernel on `context`'s random inputs, runs it and returns its result beside the reference's.
    public var compare: (ConformanceContext) throws -> Comparison

    public init(name: String, tolerance: Double, skipReason: String? = nil, halfTolerance: Double? = nil,
                halfExemption: String? = nil, compare: @escaping (ConformanceContext) throws -> Comparison) {
        self.name = name
        self.tolerance = tolerance
        self.skipReason = skipReason
        self.halfTolerance = halfTolerance
        self.halfExemption = halfExemption
        self.compare = compare
    }

    /// The relative L2 error that storing the inputs and the result in `dtype` costs by itself, with room for an
    /// op's modest amplification: f16 keeps 11 significant bits (rounding error up to 2⁻¹¹ ≈ 4.9e-4 an element),
    /// bf16 8 (2⁻⁸ ≈ 3.9e-3).
    public static func halfToleranceFloor(_ dtype: DType) -> Double {
        dtype == .bf16 ? 2e-2 : 3e-3
    }

    /// This case with activations stored as `dtype` (f16 or bf16): named `… [f16]`, with `halfTolerance` or the
    /// larger of its own tolerance and the type's floor. The reference stays the f32 one: what the case measures is
    /// how far the 16-bit run is from the exact result.
    public func withActivations(_ dtype: DType) -> ConformanceCase {
        var half = self
        half.name = "\(name) [\(dtype.rawValue)]"
        half.activations = dtype
        half.tolerance = halfTolerance ?? max(tolerance, Self.halfToleranceFloor(dtype))
        return half
    }

    /// A device result and the reference it must match, element for element.
    public struct Comparison {
        public var actual: [Float]
        public var expected: [Double]

        public init(actual: [Float], expected: [Double]) {
            self.actual = actual
            self.expected = expected
        }

        /// ‖actual − expected‖₂ / ‖expected‖₂ (infinite when the counts differ or a value is NaN).
        public var relativeError: Double {
            actual.count == expected.count ? Reference.relativeL2(actual, expected) : .infinity
        }

        /// The largest |actual − expected| (infinite when the counts differ or a value is NaN).
        public var maxAbsoluteError: Double {
            guard actual.count == expected.count else { return .infinity }
            return zip(actual, expected).reduce(0.0) { largest, pair in
                let difference = Swift.abs(Double(pair.0) - pair.1)
                return difference.isNaN ? .infinity : max(largest, difference)
            }
        }
    }
}
