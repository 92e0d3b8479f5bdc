import Foundation
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The Wan memory plan (`WanMemoryPlanner`) against the allocator: every stage of the tiny Wan 2.1 and Wan 2.2 TI2V
/// pipelines (`Tests/Fixtures/wan-pipeline`) is run (`WanStageRunner`) and its measured peak must be the planned
/// one to the byte, with every weight resident and whole frames, and with the transformer streamed and the decode
/// tiled. Refusals: frame counts and sizes the models cannot take, plans over the budget or beyond the device's
/// largest buffer.
final class WanMemoryPlanTests: ModelTestCase {
    private func components(_ name: String) throws -> WanStageComponents {
        try WanStageComponents(folder: fixtureURL("wan-pipeline/\(name)"))
    }

    private func assertStagesRunAtTheirPlannedPeaks(
        _ components: WanStageComponents, _ request: WanGenerationRequest, budget: UInt64,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> WanMemoryPlan {
        let plan = try WanMemoryPlanner.plan(components, request, budget: budget, device: device)
        let measurements = try WanStageRunner(components: components, plan: plan, device: device).runAll(steps: 2)
        XCTAssertEqual(measurements.map(\.stage), plan.stages.map(\.stage), file: file, line: line)
        for measurement in measurements {
            XCTAssertGreaterThan(measurement.measuredPeakBytes, 0, file: file, line: line)
            XCTAssertEqual(
                measurement.measuredPeakBytes, measurement.predictedPeakBytes,
                "\(components.name) \(measurement.stage.rawValue): \(plan.stage(measurement.stage)!.tactic)",
                file: file, line: line)
        }
        print(
            "\(components.name) \(request.width)x\(request.height)x\(request.frames): "
                + plan.stages.map { "\($0.stage.rawValue) \($0.peakBytes) (\($0.tactic))" }.joined(separator: "; "))
        return plan
    }

    func testTinyWan21StagesRunAtTheirPlannedPeaksResidentAndWhole() throws {
        let tiny = try components("t2v")
        XCTAssertFalse(tiny.imageToVideo)
        let plan = try assertStagesRunAtTheirPlannedPeaks(
            tiny, WanGenerationRequest(width: 48, height: 32, frames: 9, promptTokens: 12), budget: .max)
        XCTAssertEqual(plan.stages.map(\.stage), [.textEncoding, .denoise, .decode])
        XCTAssertEqual(plan.latentShape, [1, 8, 3, 4, 6])
        XCTAssertFalse(plan.streamedTransformer)
        XCTAssertNil(plan.decodeTile)
        XCTAssertEqual(plan.peakBytes, plan.stages.map(\.peakBytes).max())
    }

    /// A budget nothing fits in: the transformer streams block by block, and the allocator still peaks where the
    /// plan says. The tiny VAE's frames take no less memory in tiles (its activations are smaller than the arena's
    /// 64 KiB slots), so the decode is planned with diffusers' tiles halved twice to run it tiled.
    func testTinyWan21StagesRunAtTheirPlannedPeaksStreamedAndTiled() throws {
        let tiny = try components("t2v")
        let request = WanGenerationRequest(width: 128, height: 96, frames: 9, guidance: true, promptTokens: 20)
        let whole = try WanMemoryPlanner.plan(tiny, request, budget: .max, device: device)
        var plan = try WanMemoryPlanner.plan(tiny, request, budget: 1, device: device)
        XCTAssertTrue(plan.streamedTransformer)
        XCTAssertFalse(plan.fitsBudget)
        XCTAssertLessThan(plan.stage(.denoise)!.weightBytes, whole.stage(.denoise)!.weightBytes)

        let tiles = AutoencoderKLWan.TileConfiguration(
            sampleHeight: 64, sampleWidth: 64, strideHeight: 48, strideWidth: 48)
        let tiled = try WanMemoryPlanner.decodeStage(tiny, latent: plan.latentShape, tiles: tiles, device: device)
        XCTAssertTrue(tiled.tactic.contains("tiles of 64×64 pixels every 48×48"), tiled.tactic)
        XCTAssertNotEqual(tiled.peakBytes, whole.stage(.decode)!.peakBytes)
        plan.stages[plan.stages.count - 1] = tiled
        plan.decodeTile = [64, 64, 48, 48]
        let runner = WanStageRunner(components: tiny, plan: plan, device: device)
        for measurement in [try runner.runDenoise(steps: 2), try runner.runDecode()] {
            XCTAssertEqual(
                measurement.measuredPeakBytes, measurement.predictedPeakBytes,
                "\(measurement.stage.rawValue): \(plan.stage(measurement.stage)!.tactic)")
        }
    }

    func testTinyWan22ImageToVideoStagesRunAtTheirPlannedPeaks() throws {
        let tiny = try components("ti2v")
        XCTAssertTrue(tiny.imageToVideo)
        let request = WanGenerationRequest(width: 64, height: 32, frames: 9, promptTokens: 7, imageToVideo: true)
        let plan = try assertStagesRunAtTheirPlannedPeaks(tiny, request, budget: .max)
        XCTAssertEqual(plan.stages.map(\.stage), [.textEncoding, .keyframeEncode, .denoise, .decode])
        XCTAssertEqual(plan.latentShape, [1, 8, 3, 2, 4])
        let embeds = WanMemoryPlanner.promptEmbedsBytes(tiny, memory: device.memory)
        XCTAssertEqual(plan.stage(.keyframeEncode)?.carriedBytes, 2 * embeds)
        _ = try assertStagesRunAtTheirPlannedPeaks(
            tiny, WanGenerationRequest(width: 64, height: 64, frames: 5, guidance: false, imageToVideo: true),
            budget: 1)
    }

    func testFramesAndSizesTheModelsCannotTakeAreRefusedNamingTheValue() throws {
        let tiny = try components("t2v")
        for (request, expected) in [
            (WanGenerationRequest(width: 48, height: 32, frames: 10), "10 frames is not of the form 4k + 1"),
            (WanGenerationRequest(width: 40, height: 32, frames: 9), "size 40x32 is not a positive multiple of 16"),
            (WanGenerationRequest(width: 48, height: 0, frames: 9), "size 48x0"),
        ] {
            XCTAssertThrowsError(try WanMemoryPlanner.plan(tiny, request, device: device)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        let ti2v = try components("ti2v")
        XCTAssertThrowsError(
            try WanMemoryPlanner.plan(
                ti2v, WanGenerationRequest(width: 48, height: 32, frames: 9, imageToVideo: true), device: device)
        ) { XCTAssertTrue("\($0)".contains("multiple of 32"), "\($0)") }
    }

    func testPlansOverTheBudgetOrBeyondTheDeviceBufferAreRefusedNamingTheStage() throws {
        let tiny = try components("t2v")
        let request = WanGenerationRequest(width: 48, height: 32, frames: 9)
        let fits = try WanMemoryPlanner.plan(tiny, request, budget: .max, device: device)
        XCTAssertNoThrow(try fits.checkBudget())
        XCTAssertNoThrow(try fits.checkDeviceBuffers())
        let peak = try XCTUnwrap(fits.peakStage)

        let tight = try WanMemoryPlanner.plan(tiny, request, budget: peak.peakBytes - 1, device: device)
        XCTAssertThrowsError(try tight.checkBudget()) { error in
            guard case PipelineError.overBudget(let needed, let budget, let stage) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(budget, peak.peakBytes - 1)
            XCTAssertEqual(needed, tight.peakBytes)
            XCTAssertEqual(stage, tight.peakStage?.stage.rawValue)
        }

        var small = fits
        let decode = try XCTUnwrap(fits.stage(.decode))
        small.deviceMaxBufferBytes = decode.largestBufferBytes - 1
        XCTAssertThrowsError(try small.checkDeviceBuffers()) { error in
            XCTAssertTrue("\(error)".contains("stage needs a single buffer of"), "\(error)")
            XCTAssertTrue(small.stagesBeyondDeviceBuffer.map(\.stage).contains(.decode))
        }
    }

    /// Clips denoised together (`WanMemoryPlanner.batchedDenoise`): the weights once, the latents, text rows,
    /// encoded prompts and activations of the batch; a batch of one is the plan's own denoise; and the batch's passes
    /// peak where the plan says to the byte, resident and streamed, text-to-video and with keyframes.
    func testABatchedDenoiseHoldsTheWeightsOnceAndRunsAtItsPlannedPeak() throws {
        for (name, request) in [
            ("t2v", WanGenerationRequest(width: 48, height: 32, frames: 9)),
            ("ti2v", WanGenerationRequest(width: 64, height: 32, frames: 9, imageToVideo: true)),
        ] {
            let tiny = try components(name)
            for budget: UInt64 in [.max, 1] {
                let whole = try WanMemoryPlanner.plan(tiny, request, budget: budget, device: device)
                let one = try WanMemoryPlanner.batchedDenoise(tiny, request, batch: 1, budget: budget, device: device)
                let two = try WanMemoryPlanner.batchedDenoise(tiny, request, batch: 2, budget: budget, device: device)
                let label = "\(name), budget \(budget)"
                XCTAssertEqual(one.stage, whole.stage(.denoise), label)
                XCTAssertEqual([one.streamed, two.streamed], [budget == 1, budget == 1], label)
                XCTAssertEqual(two.stage.weightBytes, one.stage.weightBytes, "\(label): the weights once")
                XCTAssertEqual(two.stage.carriedBytes, 2 * one.stage.carriedBytes, "\(label): each clip's prompts")
                XCTAssertGreaterThan(
                    two.stage.peakBytes - two.stage.carriedBytes, one.stage.peakBytes - one.stage.carriedBytes, label)
                XCTAssertTrue(two.stage.tactic.hasPrefix(budget == 1 ? "DiT streamed" : "DiT resident"), label)
                XCTAssertTrue(two.stage.tactic.contains("batch of 2"), two.stage.tactic)

                var plan = whole
                plan.latentShape[0] = 2
                plan.stages = [two.stage]
                plan.streamedTransformer = two.streamed
                let measured = try WanStageRunner(components: tiny, plan: plan, device: device).runDenoise(steps: 1)
                XCTAssertEqual(measured.measuredPeakBytes, measured.predictedPeakBytes, "\(label): \(two.stage.tactic)")
            }
        }
    }
}
