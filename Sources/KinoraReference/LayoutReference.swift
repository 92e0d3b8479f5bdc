import Foundation
import KinoraTensor

/// CPU references (double precision) for the layout, reduction and embedding ops.
public enum LayoutReference {
    /// Row-major coordinates of `index` in `shape`.
    public static func coordinates(_ index: Int, _ shape: [Int]) -> [Int] {
        var rest = index
        var result = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            result[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return result
    }

    /// Row-major index of `coordinates` in `shape`.
    public static func index(_ coordinates: [Int], _ shape: [Int]) -> Int {
        zip(coordinates, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    /// `x` of `shape` with output axis i = input axis order[i].
    public static func permute(_ x: [Float], shape: [Int], order: [Int]) -> [Double] {
        let outShape = order.map { shape[$0] }
        return (0..<x.count).map { i in
            let out = coordinates(i, outShape)
            var input = [Int](repeating: 0, count: shape.count)
            for (position, axis) in order.enumerated() { input[axis] = out[position] }
            return Double(x[index(input, shape)])
        }
    }

    /// Entries start..<start+length of `axis`.
    public static func slice(_ x: [Float], shape: [Int], axis: Int, start: Int, length: Int) -> [Double] {
        var outShape = shape
        outShape[axis] = length
        return (0..<outShape.reduce(1, *)).map { i in
            var c = coordinates(i, outShape)
            c[axis] += start
            return Double(x[index(c, shape)])
        }
    }

    /// Pieces joined along `axis`.
    public static func concat(_ pieces: [([Float], [Int])], axis: Int) -> [Double] {
        var outShape = pieces[0].1
        outShape[axis] = pieces.map { $0.1[axis] }.reduce(0, +)
        return (0..<outShape.reduce(1, *)).map { i in
            var c = coordinates(i, outShape)
            for (values, shape) in pieces {
                if c[axis] < shape[axis] { return Double(values[index(c, shape)]) }
                c[axis] -= shape[axis]
            }
            return .nan
        }
    }

    /// Nearest upsampling of [N, C, H, W].
    public static func upsample(_ x: [Float], shape: [Int], factorH: Int, factorW: Int) -> [Double] {
        let outShape = [shape[0], shape[1], shape[2] * factorH, shape[3] * factorW]
        return (0..<outShape.reduce(1, *)).map { i in
            let c = coordinates(i, outShape)
            return Double(x[index([c[0], c[1], c[2] / factorH, c[3] / factorW], shape)])
        }
    }

    /// Sum, mean, max or min over `axis` (kind: "sum", "mean", "max", "min").
    public static func reduce(_ x: [Float], shape: [Int], axis: Int, kind: String) -> [Double] {
        let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var result: [Double] = []
        for o in 0..<outer {
            for c in 0..<inner {
                let column = (0..<n).map { Double(x[(o * n + $0) * inner + c]) }
                switch kind {
                case "sum": result.append(column.reduce(0, +))
                case "mean": result.append(column.reduce(0, +) / Double(n))
                case "max": result.append(column.max() ?? .nan)
                default: result.append(column.min() ?? .nan)
                }
            }
        }
        return result
    }

    /// Rotary embedding by complex multiplication: each pair (a, b) is a + ib times e^{iθ}, with θ for pair p at
    /// position l from the split bands. x is [B, L, H, D].
    public static func rotary(_ x: [Float], shape: [Int], positions: [[Double]], splits: [Int], theta: Double,
                              interleaved: Bool) -> [Double] {
        let (batch, length, heads, dim) = (shape[0], shape[1], shape[2], shape[3])
        let half = dim / 2
        var angles: [(axis: Int, frequency: Double)] = []
        for (axis, split) in splits.enumerated() {
            for q in 0..<(split / 2) { angles.append((axis, Foundation.pow(theta, -Double(2 * q) / Double(split)))) }
        }
        var result = [Double](repeating: 0, count: x.count)
        for b in 0..<batch {
            for l in 0..<length {
                for h in 0..<heads {
                    let base = ((b * length + l) * heads + h) * dim
                    for p in 0..<half {
                        let angle = positions[l][angles[p].axis] * angles[p].frequency
                        let i0 = interleaved ? base + 2 * p : base + p
                        let i1 = interleaved ? i0 + 1 : i0 + half
                        let re = Double(x[i0]), im = Double(x[i1])
                        let (c, s) = (Foundation.cos(angle), Foundation.sin(angle))
                        result[i0] = re * c - im * s
                        result[i1] = re * s + im * c
                    }
                }
            }
        }
        return result
    }

    /// diffusers' `get_timestep_embedding`, written out in double precision.
    public static func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, downscaleFreqShift: Double,
                                         scale: Double, maxPeriod: Double) -> [Double] {
        let half = dim / 2
        var rows: [Double] = []
        for t in timesteps {
            let emb = (0..<half).map { k in
                let exponent = -Foundation.log(maxPeriod) * Double(k) / (Double(half) - downscaleFreqShift)
                return scale * Double(t) * Foundation.exp(exponent)
            }
            var row = emb.map { Foundation.sin($0) } + emb.map { Foundation.cos($0) }
            if flipSinToCos { row = Array(row[half...] + row[..<half]) }
            if dim % 2 == 1 { row.append(0) }
            rows += row
        }
        return rows
    }

    /// PyTorch's `F.pad(x, (left, right), mode)` of the last axis, for each row.
    public static func pad(_ x: [Float], length: Int, left: Int, right: Int, mode: Graph.PadMode) -> [Double] {
        var result: [Double] = []
        for row in 0..<(x.count / length) {
            for column in -left..<(length + right) {
                var source = column
                switch mode {
                case .zeros: break
                case .reflect: source = column < 0 ? -column : (column >= length ? 2 * (length - 1) - column : column)
                case .replicate: source = min(max(column, 0), length - 1)
                }
                result.append((0..<length).contains(source) ? Double(x[row * length + source]) : 0)
            }
        }
        return result
    }
}
