import Foundation
import KinoraReference
import KinoraShaders
@testable import KinoraTensor
import XCTest

/// The tensor-core attention and convolution: built with glslang, refused clearly on devices without cooperative
/// matrices, and where the device has them, matching the references and passing their first-use checks. (The
/// conformance cases check every shape on the tensor-core device; these run in `swift test`.)
final class TensorCoreKernelTests: TensorTestCase {
    func testTensorCoreAttentionAndConvolutionAreBuiltWhenGlslangIsInstalled() throws {
        let glslang = "/opt/kinora/glslang/cmeel.prefix/bin/glslangValidator"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: glslang), "glslang 13 not installed")
        for activations in ["", "@f16", "@bf16"] {
            XCTAssertNotNil(ShaderLibrary.spirv(named: "attention_coopmat\(activations)"), activations)
            for weights in ["f32", "f16", "bf16", "f8e4m3fn_f32", "f8e5m2_f32"] {
                XCTAssertNotNil(ShaderLibrary.spirv(named: "conv_coopmat.\(weights)\(activations)"),
                                weights + activations)
            }
        }
    }

    func testAskingForTensorCoreAttentionOrConvolutionWithoutThemThrowsAClearError() throws {
        try XCTSkipIf(device.physical.features.cooperativeMatrix, "this device has cooperative matrices")
        let graph = makeGraph()
        graph.attentionStrategy = .cooperativeMatrix
        graph.convolutionStrategy = .cooperativeMatrix
        let x = try graph.input(randomValues(2 * 3 * 8), shape: [2, 3, 8])
        XCTAssertThrowsError(try graph.attention(query: x, key: x, value: x, heads: 2)) { error in
            XCTAssertTrue("\(error)".contains("cooperative"), "\(error)")
        }
        let weight = try graph.input(randomValues(4 * 3 * 3), shape: [4, 3, 3])
        XCTAssertThrowsError(try graph.conv1d(x, weight: weight)) { error in
            XCTAssertTrue("\(error)".contains("cooperative"), "\(error)")
        }
    }

    /// Automatic kernels take tensor cores only on GPUs of their tier: below it, and on CPU drivers that emulate
    /// cooperative matrices (Mesa 26's lavapipe, whose direct kernels are 3-4 times faster), they stay off them.
    func testAutomaticKernelsStayOffTensorCoresBelowTheirTierAndOnCPUDrivers() throws {
        try XCTSkipIf(device.automaticTensorCores, "this GPU is on the tensor-core tier")
        let graph = makeGraph()
        XCTAssertNil(try graph.cooperativeAttentionPlan(headDim: 64))
        XCTAssertNil(try graph.cooperativeConvolutionPlan())
        XCTAssertNil(try graph.cooperativeMatmulPlan(m: 512, n: 512, batch: 1))
    }

    /// Where a CPU driver's emulated cooperative matrices are taken as a GPU's, the automatic choices take tensor
    /// cores once their first-use checks pass: the path GPUs of the tier follow, checked on Mesa 26's lavapipe.
    func testAutomaticKernelsTakeTensorCoresOnTheirTierOnceTheirChecksPass() throws {
        try XCTSkipUnless(device.tier == .cooperativeMatrix, "this device is not on the tensor-core tier")
        let saved = device.emulatedTensorCoresChosenAutomatically
        device.emulatedTensorCoresChosenAutomatically = true
        defer { device.emulatedTensorCoresChosenAutomatically = saved }
        XCTAssertTrue(device.automaticTensorCores)
        let graph = makeGraph()
        XCTAssertNotNil(try graph.cooperativeAttentionPlan(headDim: 64))
        XCTAssertNotNil(try graph.cooperativeConvolutionPlan())
        let small = try XCTUnwrap(try graph.cooperativeMatmulPlan(m: 300, n: 300, batch: 1))
        XCTAssertEqual(small.tile, .medium)
        let large = try XCTUnwrap(try graph.cooperativeMatmulPlan(m: 4096, n: 4096, batch: 1))
        XCTAssertEqual(large.tile, CooperativeMatrixTile.large.runs(on: device)
                       && CooperativeMatrixCheck.passes(.matmulLargeTile, on: device) ? .large : .medium)
        XCTAssertNil(try graph.cooperativeAttentionPlan(headDim: 512), "too large a head dim for shared memory")
    }

    func testHeadDimsArePaddedToTheMatrixShapeAndTooLargeOnesFallBack() throws {
        try XCTSkipUnless(device.physical.features.cooperativeMatrix, "no VK_KHR_cooperative_matrix on this device")
        for headDim in [36, 40, 64, 128] {
            let plan = try XCTUnwrap(try CooperativeAttentionPlan(device: device, headDim: headDim), "d\(headDim)")
            XCTAssertGreaterThanOrEqual(plan.paddedDim, headDim)
            XCTAssertEqual(plan.paddedDim % plan.shape.n, 0)
            XCTAssertEqual(plan.paddedDim % plan.shape.k, 0)
            XCTAssertLessThanOrEqual(CooperativeAttentionPlan.sharedBytes(rows: plan.rows, columns: plan.columns,
                                                                         paddedDim: plan.paddedDim),
                                     Int(device.physical.features.maxSharedMemory))
        }
        if device.physical.features.maxSharedMemory <= 32768 {
            XCTAssertNil(try CooperativeAttentionPlan(device: device, headDim: 256))
        }
    }

    func testTensorCoreKernelsPassTheirFirstUseChecksWhereTheDeviceHasThem() throws {
        try XCTSkipUnless(device.physical.features.cooperativeMatrix, "no VK_KHR_cooperative_matrix on this device")
        for kernel in CooperativeMatrixCheck.Kernel.allCases {
            let error = try kernel.compare(on: device)
            XCTAssertLessThanOrEqual(error, CooperativeMatrixCheck.tolerance, kernel.rawValue)
            XCTAssertGreaterThan(error, 0, "\(kernel.rawValue) ran the scalar kernel twice")
        }
    }

    func testTensorCoreAttentionMatchesTheReferenceWithAMaskWhereTheDeviceHasIt() throws {
        try XCTSkipUnless(device.physical.features.cooperativeMatrix, "no VK_KHR_cooperative_matrix on this device")
        let p = AttentionReference.Problem(batch: 1, heads: 2, queryLength: 21, keyLength: 45, headDim: 64)
        let q = randomValues(p.queryLength * p.width, scale: 2), k = randomValues(p.keyLength * p.width, scale: 2)
        let v = randomValues(p.keyLength * p.width)
        let mask = randomValues(p.queryLength * p.keyLength).map { $0 > 0.8 ? -Float.infinity : $0 }
        let graph = makeGraph()
        graph.attentionStrategy = .cooperativeMatrix
        let y = try graph.attention(query: graph.input(q, shape: [1, p.queryLength, p.width]),
                                    key: graph.input(k, shape: [1, p.keyLength, p.width]),
                                    value: graph.input(v, shape: [1, p.keyLength, p.width]), heads: p.heads,
                                    mask: graph.input(mask, shape: [p.queryLength, p.keyLength]))
        let expected = AttentionReference.attention(q, k, v, p, mask: { _, _, i, j in
            Double(mask[i * p.keyLength + j])
        })
        assertClose(try graph.run([y])[0].floats(), expected, tolerance: 2e-3, "f16 operands")
    }
}
