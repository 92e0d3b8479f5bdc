import KinoraGPU
import KinoraModels
import KinoraShaders
import KinoraTensor
import XCTest

/// Full-size SD 1.5 and SDXL memory: random F16 weights uploaded, graphs recorded (never run) and planned.
final class CatalogMemoryTests: XCTestCase {
    /// A device whose allocator admits a full-size UNet's weights (lavapipe reports a 2 GiB heap but takes more).
    static let device: GPUDevice = {
        do {
            return try GPUDevice(selection: .fromEnvironment(), validation: false, budget: 16_000_000_000,
                                 shaders: { ShaderLibrary.spirv(named: $0) })
        } catch {
            fatalError("cannot open a Vulkan device: \(error)")
        }
    }()

    /// With f32 activations SD 1.5 at 512² fits 4 GB and not 2; in its weights' f16 (the default) it fits 2 GB.
    func testStableDiffusion15At512NeedsFourGigabytesInF32AndTwoInF16() throws {
        let half = try CatalogMemoryReport.measure(.sd15, width: 512, height: 512, device: Self.device)
        let halfPlan = try half.plan(budget: 2_000_000_000)
        XCTAssertLessThanOrEqual(halfPlan.peakBytes, 2_000_000_000)
        print("SD 1.5 512² in f16 activations: plan peak \(halfPlan.peakBytes) bytes within 2 GB")

        let report = try CatalogMemoryReport.measure(.sd15, width: 512, height: 512, precision: .fp32,
                                                     device: Self.device)
        let unet = try XCTUnwrap(report.weights.first { $0.component == "unet" })
        XCTAssertEqual(unet.fileBytes, 2 * 859_520_964)
        // Every UNet tensor is uploaded; the allocator rounds each to 256 bytes and adds a few tiny inputs.
        XCTAssertGreaterThanOrEqual(unet.uploadedBytes, unet.fileBytes)
        XCTAssertLessThan(unet.uploadedBytes, unet.fileBytes + 1_000_000)
        let memory = report.memory
        XCTAssertGreaterThan(memory.unetBatch2.plannedBytes, memory.unetBatch1.plannedBytes)
        XCTAssertEqual(memory.decodeTiled.map(\.latentTileSize), [32])
        XCTAssertLessThan(try XCTUnwrap(memory.decodeTiled.first).stage.plannedBytes,
                          memory.decodeUntiled.plannedBytes)

        let plan = try report.plan(budget: 4_000_000_000)
        XCTAssertLessThanOrEqual(plan.peakBytes, 4_000_000_000)
        XCTAssertTrue(plan.batchedGuidance)
        XCTAssertFalse(plan.tiledDecode)

        XCTAssertThrowsError(try report.plan(budget: 2_000_000_000)) { error in
            guard case PipelineError.overBudget(let needed, let budget, _) = error else {
                return XCTFail("expected overBudget, got \(error)")
            }
            XCTAssertEqual(budget, 2_000_000_000)
            XCTAssertGreaterThan(needed, budget)
            XCTAssertLessThanOrEqual(needed, plan.peakBytes)
            XCTAssertTrue("\(error)".contains("\(ByteCount(needed))"), "\(error)")
        }
    }

    func testStableDiffusionXLAt1024FitsTenGigabytesWithTiledDecode() throws {
        let report = try CatalogMemoryReport.measure(.sdxl, width: 1024, height: 1024, device: Self.device)
        let unet = try XCTUnwrap(report.weights.first { $0.component == "unet" })
        XCTAssertEqual(unet.fileBytes, 2 * 2_567_463_684)
        XCTAssertGreaterThanOrEqual(unet.uploadedBytes, unet.fileBytes)
        let memory = report.memory
        XCTAssertEqual(memory.decodeTiled.map(\.latentTileSize), [64, 32])
        XCTAssertLessThan(memory.decodeTiled[0].stage.plannedBytes, memory.decodeUntiled.plannedBytes)

        let plan = try report.plan(budget: 10_000_000_000)
        XCTAssertLessThanOrEqual(plan.peakBytes, 10_000_000_000)
        XCTAssertEqual(plan.decodeTileLatentSize, 64,
                       "untiled, the decode alone plans \(memory.decodeUntiled.plannedBytes) bytes")
        XCTAssertThrowsError(try report.plan(budget: 6_000_000_000))
    }
}
