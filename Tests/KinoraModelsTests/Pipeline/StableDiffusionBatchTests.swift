import Foundation
import KinoraGPU
import KinoraModels
import XCTest

/// Several pictures denoised together (`StableDiffusionPipeline.denoise(_:batch:)`) on the tiny SD and SDXL
/// fixtures: each picture's latents are those of its own denoise, with guidance batched or not, with the UNet
/// resident or streamed, and a batch that does not fit the budget runs picture by picture.
final class StableDiffusionBatchTests: ModelTestCase {
    /// Batched kernels may sum in another order than batch-1 ones: relative L2 against one picture at a time.
    static let tolerance = 1e-5

    private func settings(_ folder: String) throws -> GenerationSettings {
        let expected = folder == "sd" ? "expected" : "expected-sdxl"
        var settings = try GenerationSettings(fixture: fixture("pipeline/\(expected).safetensors"))
        settings.steps = 2
        return settings
    }

    private func requests(_ pipeline: StableDiffusionPipeline, _ settings: GenerationSettings) throws
        -> [StableDiffusionPipeline.DenoiseRequest] {
        try [("a red boat", 1), ("a green hill", 2), ("a yellow kite", 3)].map { prompt, seed in
            var prompted = settings
            prompted.prompt = prompt
            return StableDiffusionPipeline.DenoiseRequest(conditioning: try pipeline.encodePrompts(prompted),
                                                          seed: UInt64(seed))
        }
    }

    /// Each request's latents from a denoise of its own.
    private func oneByOne(_ pipeline: StableDiffusionPipeline, _ settings: GenerationSettings,
                          _ requests: [StableDiffusionPipeline.DenoiseRequest]) throws -> [[Float]] {
        try requests.map { request in
            var single = settings
            single.seed = request.seed
            return try pipeline.denoise(single, conditioning: request.conditioning)
        }
    }

    private func assertSame(_ batched: [[Float]], _ single: [[Float]], _ label: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(batched.count, single.count, label, file: file, line: line)
        for (index, (a, b)) in zip(batched, single).enumerated() {
            assertClose(a, b, tolerance: Self.tolerance, "\(label) picture \(index)", file: file, line: line)
        }
        XCTAssertNotEqual(single[0], single[1], "\(label): different seeds give different latents", file: file,
                          line: line)
    }

    func testABatchGivesEachPicturesOwnLatents() throws {
        for folder in ["sd", "sdxl"] {
            let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/\(folder)"), device: device)
            for guidance: Float in [7.5, 1] {
                var settings = try settings(folder)
                settings.guidanceScale = guidance
                let requests = try requests(pipeline, settings)
                let plan = try XCTUnwrap(pipeline.batchPlan(settings, batch: requests), folder)
                XCTAssertEqual(plan.batchedGuidance, guidance > 1, folder)
                var pictures: Set<Int?> = []
                let batched = try pipeline.denoise(settings, batch: requests) { pictures.insert($0.picture) }
                XCTAssertEqual(pictures, [nil], "\(folder): every step is of the whole batch")
                let single = try oneByOne(pipeline, settings, requests)
                assertSame(batched, single, "\(folder) cfg \(guidance)")
                print("\(folder) cfg \(guidance) batch of 3: relative L2 against one by one "
                    + "\(zip(batched, single).map { relativeL2($0, $1) })")
            }
        }
    }

    func testABatchStreamsTheUNetOrRunsOnePictureAtATimeWhenItMustToFit() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        var settings = try settings("sd")
        let requests = try requests(pipeline, settings)
        pipeline.releaseTextEncoders()
        let single = try oneByOne(pipeline, settings, requests)

        settings.unetWeightStreaming = .on
        let streamedPlan = try XCTUnwrap(pipeline.batchPlan(settings, batch: requests))
        XCTAssertTrue(streamedPlan.streamedUNet)
        assertSame(try pipeline.denoise(settings, batch: requests), single, "streamed")

        // One byte below the smallest budget the batch of three fits: the pictures run one after the other.
        settings.unetWeightStreaming = .off
        try pipeline.releaseUNet()
        let memory = device.memory
        let saved = memory.budget
        defer { memory.budget = saved }
        var (low, high) = (UInt64(0), try XCTUnwrap(pipeline.batchPlan(settings, batch: requests)).peakBytes)
        while low + 1 < high {
            let middle = (low + high) / 2
            memory.budget = middle
            if pipeline.batchPlan(settings, batch: requests) == nil { low = middle } else { high = middle }
        }
        memory.budget = low
        XCTAssertNil(pipeline.batchPlan(settings, batch: requests))
        memory.resetPeak()
        assertSame(try pipeline.denoise(settings, batch: requests), single, "one by one")
        XCTAssertLessThanOrEqual(memory.peakBytes, low)
        print("sd batch of 3 fits from \(high) bytes; at \(low) the pictures ran one by one")
    }
}
