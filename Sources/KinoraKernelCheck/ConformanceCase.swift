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
    /// Records the kernel on `context`'s random inputs, runs it and returns its result beside the reference's.
    public var compare: (ConformanceContext) throws -> Comparison

    public init(name: String, tolerance: Double, skipReason: String? = nil,
                compare: @escaping (ConformanceContext) throws -> Comparison) {
        self.name = name
        self.tolerance = tolerance
        self.skipReason = skipReason
        self.compare = compare
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
