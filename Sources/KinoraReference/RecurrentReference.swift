import Foundation

/// Recurrent layers in double precision.
public enum RecurrentReference {
    /// `torch.nn.LSTM` (one layer, zero initial state) in double precision: x [T, N, I] → h [T, N, H].
    public static func lstm(
        _ x: [Float], steps: Int, batch: Int, inputSize: Int, hidden: Int, weightIH: [Float], weightHH: [Float],
        biasIH: [Float]?, biasHH: [Float]?
    ) -> [Double] {
        func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        var h = [Double](repeating: 0, count: batch * hidden)
        var c = h
        var output: [Double] = []
        for t in 0..<steps {
            var next = h
            for n in 0..<batch {
                var gates = [Double](repeating: 0, count: 4 * hidden)
                for row in 0..<(4 * hidden) {
                    var sum = Double(biasIH?[row] ?? 0) + Double(biasHH?[row] ?? 0)
                    for k in 0..<inputSize {
                        sum += Double(weightIH[row * inputSize + k]) * Double(x[(t * batch + n) * inputSize + k])
                    }
                    for k in 0..<hidden { sum += Double(weightHH[row * hidden + k]) * h[n * hidden + k] }
                    gates[row] = sum
                }
                for j in 0..<hidden {
                    let (i, f) = (sigmoid(gates[j]), sigmoid(gates[hidden + j]))
                    let (g, o) = (Foundation.tanh(gates[2 * hidden + j]), sigmoid(gates[3 * hidden + j]))
                    c[n * hidden + j] = f * c[n * hidden + j] + i * g
                    next[n * hidden + j] = o * Foundation.tanh(c[n * hidden + j])
                }
            }
            h = next
            output += h
        }
        return output
    }
}
