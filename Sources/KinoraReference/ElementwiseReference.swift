import Foundation
import KinoraTensor

/// Double-precision references for the unary functions and the broadcasting binary ops.
public enum ElementwiseReference {
    /// `function` of one value.
    public static func unary(_ function: Graph.UnaryFunction, _ x: Double) -> Double {
        switch function {
        case .identity: return x
        case .silu: return x / (1 + Foundation.exp(-x))
        case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .geluTanh:
            return 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .softplus: return Foundation.log(1 + Foundation.exp(x))
        case .exp: return Foundation.exp(x)
        case .relu: return max(x, 0)
        case .sqrt: return x.squareRoot()
        case .log: return Foundation.log(x)
        case .abs: return Swift.abs(x)
        case .square: return x * x
        case .reciprocal: return 1 / x
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .elu: return x > 0 ? x : Foundation.expm1(x)
        }
    }

    /// The shape NumPy broadcasting gives `a` and `b`.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        let padA = [Int](repeating: 1, count: rank - a.count) + a
        let padB = [Int](repeating: 1, count: rank - b.count) + b
        return zip(padA, padB).map { max($0, $1) }
    }

    /// `function` of `a` and `b`, broadcast as NumPy does.
    public static func binary(_ function: Graph.BinaryFunction, _ a: [Float], shape shapeA: [Int], _ b: [Float],
                              shape shapeB: [Int]) -> [Double] {
        let rank = max(shapeA.count, shapeB.count)
        let padA = [Int](repeating: 1, count: rank - shapeA.count) + shapeA
        let padB = [Int](repeating: 1, count: rank - shapeB.count) + shapeB
        let outShape = broadcastShape(shapeA, shapeB)
        var expected: [Double] = []
        for index in 0..<outShape.reduce(1, *) {
            var rest = index
            var coordinates = [Int](repeating: 0, count: rank)
            for axis in (0..<rank).reversed() {
                coordinates[axis] = rest % outShape[axis]
                rest /= outShape[axis]
            }
            func element(_ values: [Float], _ shape: [Int]) -> Double {
                var flat = 0
                for axis in 0..<rank { flat = flat * shape[axis] + (shape[axis] == 1 ? 0 : coordinates[axis]) }
                return Double(values[flat])
            }
            let x = element(a, padA), y = element(b, padB)
            switch function {
            case .add: expected.append(x + y)
            case .subtract: expected.append(x - y)
            case .multiply: expected.append(x * y)
            case .divide: expected.append(x / y)
            case .maximum: expected.append(max(x, y))
            case .minimum: expected.append(min(x, y))
            }
        }
        return expected
    }
}
