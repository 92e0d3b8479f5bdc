import KinoraGPU
import KinoraReference
import KinoraTensor

/// Matrix products: the tiled kernel (shared-memory and direct loads), the few-row vector kernel, batching, and the
/// tensor-core kernel where the device has `VK_KHR_cooperative_matrix`; weights in every storage type.
extension KernelConformance {
    /// The tensor tests' tolerance for f32 arithmetic, and for f16 operands on tensor cores.
    static let matmulTolerance = 1e-5
    static let tensorCoreTolerance = 2e-3

    static func matmulCases(for device: GPUDevice) -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for strategy in [MatmulStrategy.sharedMemory, .direct] {
            for dtype in DType.allCases {
                // Several tiles in every dimension, none of them full; the shared-memory case also transposed with
                // a bias, as linear layers run.
                let transposed = strategy == .sharedMemory
                cases.append(matmul("\(name(of: strategy)) \(dtype.rawValue)", m: 130, n: 257, k: 70,
                                    dtype: dtype, transposeB: transposed, bias: transposed, strategy: strategy,
                                    tolerance: matmulTolerance))
            }
        }
        // A decoding step's few rows take the vector kernel; this one is wide enough for a second grid axis.
        cases.append(matmul("vector f16", m: 3, n: 1029, k: 70, dtype: .f16, transposeB: true, bias: true,
                            strategy: .automatic, tolerance: matmulTolerance))
        cases.append(matmul("vector f32 wide", m: 2, n: 530_001, k: 3, dtype: .f32, transposeB: true, bias: false,
                            strategy: .automatic, tolerance: matmulTolerance))
        cases.append(matmul("shared-memory batched", batch: 3, m: 65, n: 70, k: 33, dtype: .bf16,
                            transposeB: false, bias: false, strategy: .sharedMemory, tolerance: matmulTolerance))
        // What models run: tensor cores once their self-check passed on this device, else the scalar kernels.
        let automaticTolerance = device.automaticTensorCores ? tensorCoreTolerance : matmulTolerance
        cases.append(matmul("automatic f16", m: 130, n: 257, k: 70, dtype: .f16, transposeB: true, bias: true,
                            strategy: .automatic, tolerance: automaticTolerance))
        // Enough 128 × 128 tiles for the large one, which tensor cores take once it has passed its own check.
        cases.append(matmul("automatic f16", batch: 64, m: 130, n: 129, k: 8, dtype: .f16, transposeB: true,
                            bias: true, strategy: .automatic, tolerance: automaticTolerance))
        let skip = device.physical.features.cooperativeMatrix ? nil : "no VK_KHR_cooperative_matrix on this device"
        var tensorCores: [ConformanceCase] = []
        for dtype in [DType.f32, .f16, .bf16, .f8e4m3fn] {
            for (transposeB, bias) in [(true, true), (false, false)] {
                tensorCores.append(matmul("cooperative-matrix \(dtype.rawValue)", m: 130, n: 257, k: 70,
                                          dtype: dtype, transposeB: transposeB, bias: bias,
                                          strategy: .cooperativeMatrix, tile: .medium, tolerance: tensorCoreTolerance))
            }
        }
        // The large tile: several tiles each way, none full, in every weight type (float8 in both encodings),
        // transposed with a bias as linear layers run, and batched.
        for (dtype, transposeB, bias) in [(DType.f32, true, true), (.f16, false, false), (.f16, true, true),
                                          (.bf16, true, true), (.f8e4m3fn, true, true), (.f8e5m2, false, true)] {
            tensorCores.append(matmul("cooperative-matrix tile128 \(dtype.rawValue)", m: 300, n: 270, k: 70,
                                      dtype: dtype, transposeB: transposeB, bias: bias, strategy: .cooperativeMatrix,
                                      tile: .large, tolerance: tensorCoreTolerance))
        }
        tensorCores.append(matmul("cooperative-matrix tile128 f16", batch: 3, m: 130, n: 150, k: 40,
                                  dtype: .f16, transposeB: false, bias: true, strategy: .cooperativeMatrix,
                                  tile: .large, tolerance: tensorCoreTolerance))
        for var tensorCore in tensorCores {
            tensorCore.skipReason = skip
            cases.append(tensorCore)
        }
        return cases
    }

    static func name(of strategy: MatmulStrategy) -> String {
        switch strategy {
        case .automatic: "automatic"
        case .sharedMemory: "shared-memory"
        case .direct: "direct"
        case .cooperativeMatrix: "cooperative-matrix"
        }
    }

    /// `a [batch, m, k] · b` with b in `dtype` ([k, n], or [n, k] when transposed) and an optional bias in `dtype`;
    /// tensor-core products on `tile` (nil: the tile chosen per product).
    static func matmul(_ variant: String, batch: Int = 1, m: Int, n: Int, k: Int, dtype: DType, transposeB: Bool,
                       bias: Bool, strategy: MatmulStrategy, tile: CooperativeMatrixTile? = nil,
                       tolerance: Double) -> ConformanceCase {
        let shape = (batch > 1 ? "\(batch)x" : "") + "\(m)x\(n)x\(k)" + (transposeB ? " bT" : "")
            + (bias ? " +bias" : "")
        return ConformanceCase(name: "matmul \(variant) \(shape)", tolerance: tolerance) { context in
            let a = context.values(batch * m * k)
            let b = context.values(batch * n * k, roundedTo: dtype)
            let biasValues = bias ? context.values(n, roundedTo: dtype) : nil
            let graph = context.graph(matmul: strategy)
            graph.cooperativeMatrixTile = tile
            let x = try graph.input(a, shape: batch > 1 ? [batch, m, k] : [m, k])
            let w = try graph.input(b, shape: (batch > 1 ? [batch] : []) + (transposeB ? [n, k] : [k, n]),
                                    dtype: dtype)
            let y = try graph.matmul(x, w, transposeB: transposeB,
                                     bias: try biasValues.map { try graph.input($0, shape: [n], dtype: dtype) })
            let expected = Reference.matmul(a, b, batch: batch, batchB: batch, m: m, n: n, k: k,
                                            transposeB: transposeB, bias: biasValues)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        }
    }
}
