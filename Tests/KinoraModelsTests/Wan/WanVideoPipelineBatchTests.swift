import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Several clips denoised together (`WanVideoPipeline.denoise(_:conditioning:clips:progress:)`) on the tiny Wan
/// models of `Tests/Fixtures/wan-pipeline/` (`t2v`, Wan 2.1-style; `ti2v`, Wan 2.2 TI2V-style): each clip's latents
/// are bit for bit those of its own denoise, with guidance or without, the transformer resident or streamed, with
/// keyframes, without, or a mix; a batch that does not fit together is refused naming what is wrong.
final class WanVideoPipelineBatchTests: ModelTestCase {
    private func pipeline(_ folder: String) throws -> WanVideoPipeline {
        try WanVideoComponents(folder: fixtureURL("wan-pipeline/\(folder)")).load(device: device)
    }

    /// Two steps of 9 frames at 48x32 (t2v) or 64x32 (ti2v, whose size multiple is 32).
    private func settings(guidance: Float, streamed: Bool, width: Int = 48) -> WanVideoSettings {
        WanVideoSettings(
            prompt: "", negativePrompt: "blurry", width: width, height: 32, frames: 9, steps: 2,
            guidanceScale: guidance, streamedWeights: streamed)
    }

    /// Each prompt's conditioning, encoded alone.
    private func conditionings(_ pipeline: WanVideoPipeline, _ settings: WanVideoSettings, prompts: [String])
        throws -> [WanVideoPipeline.Conditioning]
    {
        try prompts.map { prompt in
            var prompted = settings
            prompted.prompt = prompt
            return try pipeline.encodePrompts(prompted)
        }
    }

    /// Each clip's latents from a denoise of its own.
    private func alone(
        _ pipeline: WanVideoPipeline, _ settings: WanVideoSettings,
        _ conditionings: [WanVideoPipeline.Conditioning], _ clips: [WanVideoPipeline.Clip]
    ) throws -> [[Float]] {
        try zip(conditionings, clips).map { conditioning, clip in
            var single = settings
            single.seed = clip.seed
            return try pipeline.denoise(single, conditioning: conditioning, imageCondition: clip.imageCondition)
        }
    }

    /// The batch's latents and the steps it reported.
    private func batched(
        _ pipeline: WanVideoPipeline, _ settings: WanVideoSettings,
        _ conditionings: [WanVideoPipeline.Conditioning], _ clips: [WanVideoPipeline.Clip]
    ) throws -> (latents: [[Float]], steps: [Int]) {
        var steps: [Int] = []
        let stacked = try WanVideoPipeline.Conditioning(stacking: conditionings, arena: pipeline.arena)
        let latents = try pipeline.denoise(settings, conditioning: stacked, clips: clips) { steps.append($0.step) }
        return (latents, steps)
    }

    private func assertBitForBit(
        _ batched: [[Float]], _ alone: [[Float]], _ label: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(batched.count, alone.count, label, file: file, line: line)
        for (index, (a, b)) in zip(batched, alone).enumerated() {
            let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(a.count, b.count, "\(label) clip \(index)", file: file, line: line)
            XCTAssertEqual(differing, 0, "\(label) clip \(index): \(differing) of \(a.count) values differ "
                + "(relative L2 \(relativeL2(a, b)))", file: file, line: line)
        }
        XCTAssertNotEqual(alone[0], alone[1], "\(label): the clips differ", file: file, line: line)
    }

    func testABatchOfTextToVideoClipsGivesEachClipItsOwnLatentsBitForBit() throws {
        let pipeline = try pipeline("t2v")
        let clips = [7, 8, 9].map { WanVideoPipeline.Clip(seed: UInt64($0)) }
        for (guidance, streamed) in [(Float(5), true), (1, false)] {
            let settings = settings(guidance: guidance, streamed: streamed)
            let conditionings = try conditionings(
                pipeline, settings, prompts: ["waves on a beach", "a red kite", "snow on a hill"])
            let (latents, steps) = try batched(pipeline, settings, conditionings, clips)
            XCTAssertEqual(steps, [1, 2], "each step is of the whole batch")
            assertBitForBit(latents, try alone(pipeline, settings, conditionings, clips),
                            "cfg \(guidance), streamed \(streamed)")
        }
    }

    /// Wan 2.2 TI2V's keyframes (each clip its own, or none) in one batch: the first latent frame held at t = 0 only
    /// for the clips that have one. The tiny model's 3 latent frames are 3 timestep runs alone and 6 in a batch of
    /// two, on either side of the matmul's few-rows kernel, which the embedding of distinct timesteps keeps alike.
    func testABatchOfKeyframedAndTextOnlyClipsGivesEachClipItsOwnLatentsBitForBit() throws {
        let pipeline = try pipeline("ti2v")
        let settings = settings(guidance: 5, streamed: false, width: 64)
        let plane = 64 * 32
        let images = [0.2, 0.7].map { level in
            WanVideoImage(width: 64, height: 32, rgb: (0..<(plane * 3)).map { Float(level) + Float($0 % 7) / 40 })
        }
        let conditions = try images.map { try pipeline.imageCondition($0, settings: settings) }
        let conditionings = try conditionings(pipeline, settings, prompts: ["a lighthouse", "a harbour at night"])
        for (label, clips) in [
            ("two keyframes", [WanVideoPipeline.Clip(seed: 3, imageCondition: conditions[0]),
                               WanVideoPipeline.Clip(seed: 4, imageCondition: conditions[1])]),
            ("a keyframe and none", [WanVideoPipeline.Clip(seed: 3, imageCondition: conditions[0]),
                                     WanVideoPipeline.Clip(seed: 4)]),
        ] {
            let (latents, _) = try batched(pipeline, settings, conditionings, clips)
            assertBitForBit(latents, try alone(pipeline, settings, conditionings, clips), label)
        }
    }

    func testABatchThatDoesNotFitTogetherIsRefusedNamingWhat() throws {
        let pipeline = try pipeline("t2v")
        let settings = settings(guidance: 5, streamed: false)
        let conditionings = try conditionings(pipeline, settings, prompts: ["a", "b"])
        let stacked = try WanVideoPipeline.Conditioning(stacking: conditionings, arena: pipeline.arena)
        let clips = [WanVideoPipeline.Clip(seed: 1), WanVideoPipeline.Clip(seed: 2)]
        func refusal(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(refusal { _ = try pipeline.denoise(settings, conditioning: stacked, clips: clips + clips) }
            .contains("2 rows of prompt embeddings for a batch of 4 clips"))
        XCTAssertTrue(refusal { _ = try pipeline.denoise(settings, conditioning: stacked, clips: []) }
            .contains("a batch of no clips"))
        let keyframed = [clips[0], WanVideoPipeline.Clip(seed: 2, imageCondition: [0, 1])]
        XCTAssertEqual(refusal { _ = try pipeline.denoise(settings, conditioning: stacked, clips: keyframed) },
                       "\(WanVideoPipelineError.imageNeedsPerTokenTimesteps)")
        var unguided = conditionings[0]
        unguided.negative = nil
        XCTAssertTrue(refusal {
            _ = try WanVideoPipeline.Conditioning(stacking: [conditionings[1], unguided], arena: pipeline.arena)
        }.contains("some clips have a negative prompt's embeddings and others not"))
        let ti2v = try self.pipeline("ti2v")
        var wide = settings
        wide.width = 64
        let ti2vStacked = try WanVideoPipeline.Conditioning(
            stacking: self.conditionings(ti2v, wide, prompts: ["a", "b"]), arena: ti2v.arena)
        XCTAssertTrue(refusal { _ = try ti2v.denoise(wide, conditioning: ti2vStacked, clips: keyframed) }
            .contains("clip 2: a condition of 2 values for one latent frame of"))
    }
}

extension WanVideoPipelineBatchTests {
    /// A clip of at most `Graph.vectorRows` tokens (one 32x32 frame of the tiny model: 2×2 patches) is a product of
    /// a few rows alone but a larger one in a batch, which the matmul sums in another order: such a batch runs clip by
    /// clip, each step reporting its clip, and each clip keeps its own latents' bits.
    func testClipsOfAFewTokensRunOneByOneAndKeepTheirBits() throws {
        let pipeline = try WanVideoComponents(folder: fixtureURL("wan-pipeline/t2v")).load(device: device)
        let settings = WanVideoSettings(
            prompt: "", width: 32, height: 32, frames: 1, steps: 2, guidanceScale: 5, streamedWeights: false)
        let conditionings = try ["a boat", "a kite"].map { prompt in
            var prompted = settings
            prompted.prompt = prompt
            return try pipeline.encodePrompts(prompted)
        }
        let clips = [WanVideoPipeline.Clip(seed: 5), WanVideoPipeline.Clip(seed: 6)]
        var reported: [WanVideoPipeline.Progress] = []
        let stacked = try WanVideoPipeline.Conditioning(stacking: conditionings, arena: pipeline.arena)
        let batched = try pipeline.denoise(settings, conditioning: stacked, clips: clips) { reported.append($0) }
        XCTAssertEqual(reported.map(\.clip), [0, 0, 1, 1])
        XCTAssertEqual(reported.map(\.step), [1, 2, 1, 2])
        let alone = try zip(conditionings, clips).map { conditioning, clip in
            var single = settings
            single.seed = clip.seed
            return try pipeline.denoise(single, conditioning: conditioning)
        }
        XCTAssertEqual(batched, alone)
        XCTAssertNotEqual(alone[0], alone[1])
    }
}
