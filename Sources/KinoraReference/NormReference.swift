import Foundation

/// Double-precision references for the normalisation ops.
public enum NormReference {
    /// Normalises each run of `rowLength` consecutive values by its own mean (unless `rms`) and spread.
    private static func normalizedRows(_ x: [Float], rowLength: Int, epsilon: Double, rms: Bool) -> [Double] {
        var result = [Double](repeating: 0, count: x.count)
        for start in stride(from: 0, to: x.count, by: rowLength) {
            let row = x[start..<start + rowLength].map(Double.init)
            let mean = rms ? 0 : row.reduce(0, +) / Double(rowLength)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rowLength)
            let inverse = 1 / (variance + epsilon).squareRoot()
            for (offset, value) in row.enumerated() { result[start + offset] = (value - mean) * inverse }
        }
        return result
    }

    /// PyTorch GroupNorm on x [N, C, spatial...] flattened; `spatial` is the product of the trailing axes.
    public static func groupNorm(_ x: [Float], channels: Int, spatial: Int, groups: Int, weight: [Float]?,
                                 bias: [Float]?, epsilon: Double) -> [Double] {
        var y = normalizedRows(x, rowLength: channels / groups * spatial, epsilon: epsilon, rms: false)
        for index in y.indices {
            let channel = index / spatial % channels
            y[index] = y[index] * Double(weight?[channel] ?? 1) + Double(bias?[channel] ?? 0)
        }
        return y
    }

    /// Layer norm over rows of `width`, then `· (1 + scale) + shift`, where x's row r reads row `modulationRow(r)`
    /// of `scale` and row `shiftRow(r)` of `shift` (`modulationRow(r)` when nil).
    public static func layerNorm(_ x: [Float], width: Int, weight: [Float]?, bias: [Float]?, epsilon: Double,
                                 scale: [Float]? = nil, shift: [Float]? = nil, modulationRow: (Int) -> Int = { $0 },
                                 shiftRow: ((Int) -> Int)? = nil) -> [Double] {
        var y = normalizedRows(x, rowLength: width, epsilon: epsilon, rms: false)
        for index in y.indices {
            let column = index % width
            let row = index / width
            var value = y[index] * Double(weight?[column] ?? 1) + Double(bias?[column] ?? 0)
            if let scale { value *= 1 + Double(scale[modulationRow(row) * width + column]) }
            if let shift { value += Double(shift[(shiftRow?(row) ?? modulationRow(row)) * width + column]) }
            y[index] = value
        }
        return y
    }

    /// RMS norm over rows of `width`.
    public static func rmsNorm(_ x: [Float], width: Int, weight: [Float]?, epsilon: Double) -> [Double] {
        let y = normalizedRows(x, rowLength: width, epsilon: epsilon, rms: true)
        return y.indices.map { y[$0] * Double(weight?[$0 % width] ?? 1) }
    }

    /// Wan's `RMS_norm` over the channels: x [N, C, S] flattened →
    /// x / max(‖x[n, :, s]‖, epsilon) · scale · weight[c] + bias[c].
    public static func channelRMSNorm(
        _ x: [Float], shape: [Int], weight: [Float]?, bias: [Float]?, scale: Double,
        epsilon: Double
    ) -> [Double] {
        let (batch, channels) = (shape[0], shape[1])
        let spatial = shape.dropFirst(2).reduce(1, *)
        var y = [Double](repeating: 0, count: x.count)
        for n in 0..<batch {
            for s in 0..<spatial {
                let indices = (0..<channels).map { (n * channels + $0) * spatial + s }
                let norm = indices.reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) }.squareRoot()
                for (c, index) in indices.enumerated() {
                    y[index] =
                        Double(x[index]) / max(norm, epsilon) * scale * Double(weight?[c] ?? 1)
                        + Double(bias?[c] ?? 0)
                }
            }
        }
        return y
    }
}
