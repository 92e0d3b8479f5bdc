import Foundation
import KinoraReference
import KinoraShaders
@testable import KinoraTensor
import XCTest

final class MatmulTests: TensorTestCase {
    func testMatmulMatchesReferenceOnAwkwardSizesForEveryWeightType() throws {
        let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (7, 33, 130), (65, 70, 17), (130, 7, 64), (33, 130, 7),
                                                  (2, 300, 70), (3, 65, 33), (4, 129, 17), (1, 70, 130)]
        for dtype in DType.allCases {
            for (m, n, k) in shapes {
                for (transposeB, strategy) in [(false, MatmulStrategy.sharedMemory), (true, .sharedMemory),
                                               (false, .direct), (true, .direct)] {
                    let a = randomValues(m * k)
                    let b = randomValues(n * k).map { HostConversionMirror.rounded($0, to: dtype) }
                    let graph = makeGraph()
                    graph.matmulStrategy = strategy
                    let x = try graph.input(a, shape: [m, k])
                    let w = try graph.input(b, shape: transposeB ? [n, k] : [k, n], dtype: dtype)
                    let result = try graph.run([graph.matmul(x, w, transposeB: transposeB)])[0]
                    XCTAssertEqual(result.shape, [m, n])
                    let expected = Reference.matmul(a, b, batch: 1, batchB: 1, m: m, n: n, k: k, transposeB: transposeB)
                    assertClose(try result.floats(), expected, tolerance: 1e-5, "\(dtype) \(m)x\(n)x\(k) t=\(transposeB) \(strategy)")
                }
            }
        }
    }

    func testBatchedMatmulBroadcastsASingleRightOperand() throws {
        let (batch, m, n, k) = (3, 9, 40, 11)
        let a = randomValues(batch * m * k), b = randomValues(k * n), c = randomValues(batch * k * n)
        for strategy in [MatmulStrategy.sharedMemory, .direct] {
            let graph = makeGraph()
            graph.matmulStrategy = strategy
            let x = try graph.input(a, shape: [batch, m, k])
            let shared = try graph.matmul(x, graph.input(b, shape: [k, n]))
            let perBatch = try graph.matmul(x, graph.input(c, shape: [batch, k, n]))
            let results = try graph.run([shared, perBatch])
            assertClose(try results[0].floats(),
                        Reference.matmul(a, b, batch: batch, batchB: 1, m: m, n: n, k: k, transposeB: false), tolerance: 1e-5)
            assertClose(try results[1].floats(),
                        Reference.matmul(a, c, batch: batch, batchB: batch, m: m, n: n, k: k, transposeB: false),
                        tolerance: 1e-5)
        }
    }

    func testLinearAppliesPyTorchLayoutWeightsAndBiasOverTheLastAxis() throws {
        let (rows, inputs, outputs) = (2 * 7, 33, 17)
        let x = randomValues(rows * inputs), w = randomValues(outputs * inputs), bias = randomValues(outputs)
        for dtype in [DType.f32, .f16] {
            let roundedW = w.map { HostConversionMirror.rounded($0, to: dtype) }
            let roundedBias = bias.map { HostConversionMirror.rounded($0, to: dtype) }
            let graph = makeGraph()
            let y = try graph.linear(graph.input(x, shape: [2, 7, inputs]),
                                     weight: graph.input(w, shape: [outputs, inputs], dtype: dtype),
                                     bias: graph.input(bias, shape: [outputs], dtype: dtype))
            let result = try graph.run([y])[0]
            XCTAssertEqual(result.shape, [2, 7, outputs])
            let expected = Reference.matmul(x, roundedW, batch: 1, batchB: 1, m: rows, n: outputs, k: inputs,
                                            transposeB: true, bias: roundedBias)
            assertClose(try result.floats(), expected, tolerance: 1e-5, "\(dtype)")
        }
    }

    /// A few rows against [out, in] weights take the vector kernel: with bias, batched, and wide enough that its
    /// workgroups spill onto a second grid axis (more than 65,535 groups of 8 columns).
    func testFewRowProductsMatchTheReferenceBatchedWithBiasAndVeryWide() throws {
        for (batch, m, n, k, dtype) in [(3, 2, 40, 17, DType.f16), (1, 4, 530_001, 3, .f32), (2, 1, 129, 70, .bf16)] {
            let a = randomValues(batch * m * k)
            let b = randomValues(batch * n * k).map { HostConversionMirror.rounded($0, to: dtype) }
            let bias = randomValues(n).map { HostConversionMirror.rounded($0, to: dtype) }
            let graph = makeGraph()
            let y = try graph.matmul(graph.input(a, shape: [batch, m, k]),
                                     graph.input(b, shape: [batch, n, k], dtype: dtype), transposeB: true,
                                     bias: graph.input(bias, shape: [n], dtype: dtype))
            let expected = Reference.matmul(a, b, batch: batch, batchB: batch, m: m, n: n, k: k, transposeB: true,
                                            bias: bias)
            assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-5, "\(batch)x\(m)x\(n)x\(k) \(dtype)")
        }
    }

    func testMismatchedInnerSizesThrowNamingMatmulAndShapes() throws {
        let graph = makeGraph()
        let a = try graph.input(randomValues(6), shape: [2, 3])
        let b = try graph.input(randomValues(8), shape: [4, 2])
        XCTAssertThrowsError(try graph.matmul(a, b)) { error in
            XCTAssertEqual(error as? TensorError,
                           .shapeMismatch(op: "matmul", shapes: [[2, 3], [4, 2]], reason: "inner sizes 3 and 4 differ"))
        }
    }
}

final class CooperativeMatrixMatmulTests: TensorTestCase {
    func testTensorCoreKernelsAreBuiltWhenGlslangIsInstalled() throws {
        let glslang = "/opt/kinora/glslang/cmeel.prefix/bin/glslangValidator"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: glslang), "glslang 13 not installed")
        for dtype in DType.allCases where !dtype.isFloat8 {
            XCTAssertNotNil(ShaderLibrary.spirv(named: "matmul_coopmat.\(dtype.rawValue)"), "\(dtype)")
        }
    }

    func testAskingForTensorCoresOnADeviceWithoutThemThrowsAClearError() throws {
        try XCTSkipIf(device.physical.features.cooperativeMatrix, "this device has cooperative matrices")
        let graph = makeGraph()
        graph.matmulStrategy = .cooperativeMatrix
        let a = try graph.input(randomValues(6), shape: [2, 3])
        let b = try graph.input(randomValues(6), shape: [3, 2])
        XCTAssertThrowsError(try graph.matmul(a, b)) { error in
            XCTAssertTrue("\(error)".contains("cooperative"), "\(error)")
        }
    }

    func testTensorCoreKernelMatchesTheReferenceWhereTheDeviceHasIt() throws {
        try XCTSkipUnless(device.physical.features.cooperativeMatrix, "no VK_KHR_cooperative_matrix on this device")
        let (m, n, k) = (70, 90, 50)
        let a = randomValues(m * k), b = randomValues(n * k).map { HostConversionMirror.rounded($0, to: .f16) }
        let graph = makeGraph()
        graph.matmulStrategy = .cooperativeMatrix
        let result = try graph.run([graph.matmul(graph.input(a, shape: [m, k]),
                                                 graph.input(b, shape: [n, k], dtype: .f16), transposeB: true)])[0]
        let expected = Reference.matmul(a, b, batch: 1, batchB: 1, m: m, n: n, k: k, transposeB: true)
        assertClose(try result.floats(), expected, tolerance: 2e-3, "f16 operands")
    }

    func testLargeTilesGoToProductsLargeEnoughToFillAGPUWithThem() {
        XCTAssertEqual(CooperativeMatrixTile.forProduct(m: 4096, n: 5120, batch: 1), .large)
        // 16 × 16 large tiles are 256 workgroups; 16 × 15 are too few.
        XCTAssertEqual(CooperativeMatrixTile.forProduct(m: 2048, n: 2048, batch: 1), .large)
        XCTAssertEqual(CooperativeMatrixTile.forProduct(m: 2048, n: 1920, batch: 1), .medium)
        // The batch counts: 64 products of 2 × 2 tiles fill as many workgroups, 63 do not.
        XCTAssertEqual(CooperativeMatrixTile.forProduct(m: 130, n: 129, batch: 64), .large)
        XCTAssertEqual(CooperativeMatrixTile.forProduct(m: 130, n: 129, batch: 63), .medium)
        // A side below 128 would leave a large tile's rows or columns empty, however many tiles the other gives.
        XCTAssertEqual(CooperativeMatrixTile.forProduct(m: 127, n: 1 << 20, batch: 1), .medium)
        XCTAssertEqual(CooperativeMatrixTile.forProduct(m: 1 << 20, n: 100, batch: 8), .medium)
    }

    func testBothTilesFitTheSharedMemoryOfACPUDriver() {
        // Lavapipe offers 32 KiB, so that the tensor-core tier's checks can run every tile there.
        for tile in CooperativeMatrixTile.allCases {
            XCTAssertLessThanOrEqual(tile.sharedBytes(shape: (16, 16, 16)), 32768, tile.rawValue)
        }
    }

    func testLargeProductsTakeTheLargeTileWhereTheDeviceHoldsIt() throws {
        try XCTSkipUnless(device.physical.features.cooperativeMatrix, "no VK_KHR_cooperative_matrix on this device")
        let plan = try CooperativeMatrixPlan(device: device, m: 4096, n: 4096, batch: 1)
        XCTAssertEqual(plan.tile, CooperativeMatrixTile.large.runs(on: device) ? .large : .medium)
        XCTAssertEqual(try CooperativeMatrixPlan(device: device, m: 300, n: 300, batch: 1).tile, .medium)
    }

    func testTensorCoreKernelOnTheLargeTileMatchesTheReferenceWhereTheDeviceHasIt() throws {
        try XCTSkipUnless(device.physical.features.cooperativeMatrix, "no VK_KHR_cooperative_matrix on this device")
        let (batch, m, n, k) = (2, 150, 270, 40)
        let a = randomValues(batch * m * k)
        let b = randomValues(batch * k * n).map { HostConversionMirror.rounded($0, to: .bf16) }
        let bias = randomValues(n).map { HostConversionMirror.rounded($0, to: .bf16) }
        let graph = makeGraph()
        graph.matmulStrategy = .cooperativeMatrix
        graph.cooperativeMatrixTile = .large
        let y = try graph.matmul(graph.input(a, shape: [batch, m, k]),
                                 graph.input(b, shape: [batch, k, n], dtype: .bf16),
                                 bias: graph.input(bias, shape: [n], dtype: .bf16))
        let expected = Reference.matmul(a, b, batch: batch, batchB: batch, m: m, n: n, k: k, transposeB: false,
                                        bias: bias)
        assertClose(try graph.run([y])[0].floats(), expected, tolerance: 2e-3, "f16 operands on the large tile")
    }
}
