import Foundation

/// CPU references in double precision, and error measures.
public enum Reference {
    /// ‖actual − expected‖₂ / max(‖expected‖₂, tiny).
    public static func relativeL2(_ actual: [Float], _ expected: [Double]) -> Double {
        var difference = 0.0
        var norm = 0.0
        for (a, e) in zip(actual, expected) {
            let d = Double(a) - e
            difference += d.isNaN ? .infinity : d * d
            norm += e * e
        }
        return (difference / max(norm, 1e-30)).squareRoot()
    }

    /// C[b] = A[b] · op(B[b]) (+ bias); a: [batch, m, k]; b: [batchB, k, n] or [batchB, n, k] when transposed.
    public static func matmul(_ a: [Float], _ b: [Float], batch: Int, batchB: Int, m: Int, n: Int, k: Int,
                              transposeB: Bool, bias: [Float]? = nil) -> [Double] {
        var c = [Double](repeating: 0, count: batch * m * n)
        for p in 0..<batch {
            let bBase = batchB == 1 ? 0 : p * n * k
            for i in 0..<m {
                for j in 0..<n {
                    var sum = Double(bias?[j] ?? 0)
                    for t in 0..<k {
                        let bValue = transposeB ? b[bBase + j * k + t] : b[bBase + t * n + j]
                        sum += Double(a[p * m * k + i * k + t]) * Double(bValue)
                    }
                    c[p * m * n + i * n + j] = sum
                }
            }
        }
        return c
    }
}
