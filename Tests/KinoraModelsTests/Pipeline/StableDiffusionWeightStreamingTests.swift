import Foundation
import KinoraGPU
import KinoraModels
import XCTest

/// The pipeline with the UNet's weights streamed block by block, on the tiny SD and SDXL fixtures: the same latents
/// and image as with them resident, a measured peak under the plan, streaming chosen by itself exactly when the
/// resident tactics do not fit the budget, and refused when turned off.
final class StableDiffusionWeightStreamingTests: ModelTestCase {
    private func settings(_ folder: String, _ streaming: WeightStreaming) throws -> GenerationSettings {
        let expected = folder == "sd" ? "expected" : "expected-sdxl"
        var settings = try GenerationSettings(fixture: fixture("pipeline/\(expected).safetensors"))
        settings.steps = 2
        settings.unetWeightStreaming = streaming
        return settings
    }

    /// The smallest peak any tactic of `memory` reaches.
    private func smallestPeak(_ memory: GenerationMemory) throws -> UInt64 {
        do {
            _ = try memory.plan(budget: 0)
        } catch PipelineError.overBudget(let needed, _, _) {
            return needed
        }
        throw XCTSkip("a zero budget fitted")
    }

    func testStreamedUNetGivesTheResidentGenerationBitForBit() throws {
        for folder in ["sd", "sdxl"] {
            // The resident pipeline goes before the streamed one runs, so its weights are not counted there.
            let (resident, residentUNetBytes) = try {
                let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/\(folder)"), device: device)
                return (try pipeline.run(settings(folder, .off)), pipeline.unetUploadedBytes)
            }()
            device.memory.trim()
            XCTAssertFalse(resident.memoryPlan.streamedUNet)
            let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/\(folder)"), device: device)
            device.memory.resetPeak()
            let streamed = try pipeline.run(settings(folder, .on))
            XCTAssertTrue(streamed.memoryPlan.streamedUNet, folder)
            XCTAssertLessThanOrEqual(device.memory.peakBytes, streamed.memoryPlan.peakBytes, folder)
            XCTAssertLessThan(streamed.memoryPlan.unetPeakBytes, resident.memoryPlan.unetPeakBytes, folder)
            XCTAssertEqual(streamed.latents, resident.latents, folder)
            XCTAssertEqual(streamed.image, resident.image, folder)
            XCTAssertLessThan(4 * pipeline.unetUploadedBytes, residentUNetBytes,
                              "\(folder): only the UNet's head and tail stay")
            print("\(folder) streamed UNet: UNet stage peak \(streamed.memoryPlan.unetPeakBytes) bytes against "
                + "\(resident.memoryPlan.unetPeakBytes) resident")
        }
    }

    func testAutoStreamsExactlyWhenTheResidentTacticsDoNotFit() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let unconstrained = try pipeline.run(settings("sd", .auto))
        XCTAssertFalse(unconstrained.memoryPlan.streamedUNet, "resident when it fits")

        let residentNeed = try smallestPeak(pipeline.memory(for: settings("sd", .auto)))
        let streamedNeed = try smallestPeak(pipeline.memory(for: settings("sd", .auto), streamedUNet: true))
        XCTAssertLessThan(streamedNeed, residentNeed)
        print("sd: smallest peak \(residentNeed) bytes resident, \(streamedNeed) streamed")

        device.memory.resetPeak()
        let generation = try withBudget(streamedNeed) { try pipeline.run(settings("sd", .auto)) }
        XCTAssertTrue(generation.memoryPlan.streamedUNet)
        XCTAssertLessThanOrEqual(generation.memoryPlan.peakBytes, streamedNeed)
        XCTAssertLessThanOrEqual(device.memory.peakBytes, streamedNeed, "measured allocator peak above the budget")
        XCTAssertEqual(generation.latents, unconstrained.latents)

        // Turned off, the same budget is refused before any step.
        try withBudget(streamedNeed) {
            XCTAssertThrowsError(try pipeline.run(settings("sd", .off))) { error in
                guard case PipelineError.overBudget(let needed, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertGreaterThan(needed, streamedNeed)
            }
        }
    }

    func testStagedDenoiseStreamsTheUNetUnderABudgetOnlyStreamingFits() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sdxl"), device: device)
        let settings = try settings("sdxl", .auto)
        let conditioning = try pipeline.encodePrompts(settings)
        pipeline.releaseTextEncoders()
        let resident = try pipeline.denoise(settings, conditioning: conditioning)
        let unetWeights = UInt64(pipeline.unetUploadedBytes)
        try pipeline.releaseUNet()
        // Room for the conditioning and exactly the UNet's weights: none for a resident pass's activations.
        let budget = device.memory.liveBytes + UInt64(conditioning.byteCount) + unetWeights

        var off = settings
        off.unetWeightStreaming = .off
        try withBudget(budget) {
            XCTAssertThrowsError(try pipeline.denoise(off, conditioning: conditioning)) { error in
                guard case PipelineError.overBudget = error else { return XCTFail("\(error)") }
            }
        }
        try pipeline.releaseUNet()
        device.memory.trim()
        device.memory.resetPeak()
        let streamed = try withBudget(budget) { try pipeline.denoise(settings, conditioning: conditioning) }
        XCTAssertLessThanOrEqual(device.memory.peakBytes, budget)
        XCTAssertEqual(streamed, resident)
        XCTAssertLessThan(UInt64(pipeline.unetUploadedBytes), unetWeights / 4, "only the head and tail stay")
    }
}
