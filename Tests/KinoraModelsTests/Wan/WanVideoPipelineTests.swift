import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The 2-step text-to-video pipeline against diffusers 0.42.1's `WanPipeline` on the tiny components of
/// `Tests/Fixtures/wan-pipeline/` (made by `scripts/fixtures/make_wan_pipeline_fixtures.py`: a new tiny UMT5 and
/// DiT, the `wan-vae/wan21` VAE, the `t5-tokenizer` vocabulary, UniPC with flow sigmas and shift 3), Wan 2.2 TI2V's
/// image-to-video against `WanImageToVideoPipeline(expand_timesteps=True)` on the `wan-vae/wan22` VAE, the streamed
/// frames and the refusals.
final class WanVideoPipelineTests: ModelTestCase {
    private var expected: SafetensorsFile { get throws { try fixture("wan-pipeline/expected.safetensors") } }

    private func pipeline(transformer folder: String = "wan-pipeline/t2v/transformer", vae: String = "wan21")
        throws -> WanVideoPipeline
    {
        try WanVideoPipeline(
            tokenizer: T5Tokenizer(tokenizerJSON: gunzip(fixtureURL("t5-tokenizer/tokenizer.json.gz"))),
            textEncoder: UMT5EncoderModel(folder: fixtureURL("wan-pipeline/t2v/text_encoder"), device: device),
            transformer: WanTransformer3DModel(folder: fixtureURL(folder), device: device),
            vae: AutoencoderKLWanFixture(vae, test: self).model(self),
            scheduler: SchedulerConfiguration(
                contentsOf: fixtureURL("wan-pipeline/t2v/scheduler/scheduler_config.json")),
            expandTimesteps: vae == "wan22")
    }

    /// The fixture's request: its prompts, seed, steps and guidance as the script recorded them, 9 frames of 48x32.
    private func settings(streamed: Bool = true) throws -> WanVideoSettings {
        let metadata = try expected.metadata
        return WanVideoSettings(
            prompt: try XCTUnwrap(metadata["prompt"]), negativePrompt: try XCTUnwrap(metadata["negative_prompt"]),
            width: 48, height: 32, frames: 9, steps: try XCTUnwrap(Int(metadata["steps"] ?? "")),
            guidanceScale: try XCTUnwrap(Float(metadata["guidance_scale"] ?? "")),
            seed: try XCTUnwrap(UInt64(metadata["seed"] ?? "")), sampler: .unipc, streamedWeights: streamed)
    }

    func testTwoStepTextToVideoMatchesDiffusersStageByStage() throws {
        let pipeline = try pipeline()
        let settings = try settings()
        let expected = try expected
        XCTAssertEqual(try pipeline.latentShape(settings), try expected.info("initial_latents").shape)
        XCTAssertEqual(try pipeline.initialLatents(settings), try expected.floats("initial_latents"))

        let conditioning = try pipeline.encodePrompts(settings)
        let promptError = relativeL2(try conditioning.prompt.floats(), try expected.floats("prompt_embeds"))
        let negative = try XCTUnwrap(conditioning.negative)
        let negativeError = relativeL2(try negative.floats(), try expected.floats("negative_prompt_embeds"))
        XCTAssertLessThanOrEqual(promptError, 1e-4, "prompt embeddings")
        XCTAssertLessThanOrEqual(negativeError, 1e-4, "negative prompt embeddings")

        var steps: [WanVideoPipeline.Progress] = []
        let latents = try pipeline.denoise(settings, conditioning: conditioning) { steps.append($0) }
        XCTAssertEqual(steps.map(\.step), [1, 2])
        XCTAssertEqual(steps.map(\.timestep), try expected.floats("timesteps"))
        let latentError = relativeL2(latents, try expected.floats("latents.1"))
        XCTAssertLessThanOrEqual(latentError, 1e-3, "final latents")

        var chunks: [WanVideoFrames] = []
        try pipeline.decode(latents, shape: pipeline.latentShape(settings)) { chunks.append($0) }
        XCTAssertEqual(chunks.map(\.start), [0, 1, 5], "one latent frame's worth per call")
        XCTAssertEqual(chunks.map(\.count), [1, 4, 4], "one latent frame's worth per call")
        XCTAssertTrue(chunks.allSatisfy { $0.width == 48 && $0.height == 32 && $0.rgb.count == $0.count * 48 * 32 * 3 })
        let video = chunks.flatMap(\.rgb)
        XCTAssertTrue(video.allSatisfy { $0 >= 0 && $0 <= 1 })
        let videoError = relativeL2(video, try expected.floats("video"))
        XCTAssertLessThanOrEqual(videoError, 1e-3, "video")
        print(
            "WanVideoPipeline 2-step T2V vs diffusers, relative L2: prompt embeds \(promptError), negative "
                + "\(negativeError), latents \(latentError), video \(videoError)")
    }

    func testResidentWeightsGenerateTheSameVideoThroughTheCallback() throws {
        let pipeline = try pipeline()
        var chunks: [WanVideoFrames] = []
        try pipeline.generate(try settings(streamed: false)) { chunks.append($0) }
        XCTAssertEqual(chunks.map(\.count), [1, 4, 4])
        let error = relativeL2(chunks.flatMap(\.rgb), try expected.floats("video"))
        XCTAssertLessThanOrEqual(error, 1e-3, "video with resident weights")
        print("WanVideoPipeline 2-step T2V (resident weights) vs diffusers, video relative L2 \(error)")
    }

    /// The decode's tiles: none when a frame fits whole or is not larger than diffusers' tile; a budget below a
    /// whole frame's call is refused naming the bytes when no tiles fit it (each tile keeps its own feature cache, so
    /// on this VAE tiles never need less than the whole frame); tiled frames are the frames up to the blend; after
    /// the denoising weights are released nothing of them stays on the device.
    func testTheDecodeTilesFollowTheBudgetAndTheDenoisingWeightsAreReleasedFirst() throws {
        let pipeline = try pipeline()
        let shape = try pipeline.latentShape(try settings())
        XCTAssertNil(try pipeline.decodeTiles(shape: shape, tiling: .off))
        XCTAssertNil(try pipeline.decodeTiles(shape: shape, tiling: .on), "48x32 is smaller than a 256-pixel tile")
        XCTAssertNil(try pipeline.decodeTiles(shape: shape, tiling: .auto))
        let whole = try pipeline.vae.streamingDecodeMemory(latentHeight: shape[3], latentWidth: shape[4]).peakBytes
        XCTAssertThrowsError(try pipeline.decodeTiles(shape: shape, tiling: .auto, budget: whole - 1)) {
            XCTAssertTrue("\($0)".contains("one latent frame needs at least \(whole) bytes"), "\($0)")
        }
        let tiles = AutoencoderKLWan.TileConfiguration(
            sampleHeight: 32, sampleWidth: 32, strideHeight: 24, strideWidth: 24)
        var frames: [Float] = []
        try pipeline.decode(try expected.floats("latents.1"), shape: shape, tiles: tiles) { frames += $0.rgb }
        let error = relativeL2(frames, try expected.floats("video"))
        XCTAssertGreaterThan(error, 0, "tiles blend, so the frames differ a little")
        // 32-pixel tiles of a 48x32 frame are smaller than the random VAE's receptive field: the blend is visible
        // (diffusers' tiling of these latents is checked against diffusers in AutoencoderKLWanTilingTests).
        XCTAssertLessThanOrEqual(error, 0.15, "tiled frames")

        try pipeline.generate(try settings(streamed: false)) { _ in }
        pipeline.releaseDenoisingWeights()
        XCTAssertEqual(pipeline.transformer.weights.uploadedBytes, 0)
        XCTAssertEqual(pipeline.textEncoder.weights.uploadedBytes, 0)
    }

    /// A clip decoded in pieces (the autoregressive stream's chunks) with the VAE cache carried over equals the clip
    /// decoded at once.
    func testALatentStreamDecodedInPiecesEqualsTheWholeDecode() throws {
        let pipeline = try pipeline()
        let shape = try pipeline.latentShape(try settings())
        let latents = try expected.floats("latents.1")
        var whole: [Float] = []
        try pipeline.decode(latents, shape: shape) { whole += $0.rgb }
        let stream = WanLatentStream(vae: pipeline.vae, arena: pipeline.arena)
        let (channels, count, plane) = (shape[1], shape[2], shape[3] * shape[4])
        var pieces: [Float] = []
        for range in [0..<2, 2..<count] {
            var part: [Float] = []
            for channel in 0..<channels {
                let start = (channel * count + range.lowerBound) * plane
                part += latents[start..<(start + range.count * plane)]
            }
            try stream.decode(part, shape: [1, channels, range.count, shape[3], shape[4]]) { pieces += $0.rgb }
        }
        XCTAssertEqual(stream.framesDecoded, 9)
        XCTAssertEqual(pieces, whole)
    }

    /// The frames are handed on as each latent frame is decoded, not after the whole clip: a callback that stops at
    /// the first chunk stops the decode there.
    func testFramesAreHandedOnBeforeTheRestIsDecoded() throws {
        struct Stop: Error {}
        let pipeline = try pipeline()
        let settings = try settings()
        let latents = try expected.floats("latents.1")
        let vae = pipeline.vae
        var calls = 0
        XCTAssertThrowsError(
            try pipeline.decode(latents, shape: pipeline.latentShape(settings)) { chunk in
                calls += 1
                XCTAssertEqual(chunk.count, vae.decodedFrames(latentFrames: 1, firstChunk: true))
                throw Stop()
            }
        ) { XCTAssertTrue($0 is Stop, "\($0)") }
        XCTAssertEqual(calls, 1)
    }

    func testBadRequestsAreRefusedBeforeAnyWorkNamingTheValue() throws {
        let pipeline = try pipeline()
        XCTAssertEqual(pipeline.sizeMultiple, 16)
        let good = try settings()
        var cases: [(WanVideoSettings, WanVideoPipelineError, String)] = []
        for frames in [0, 8, 10, -3] {
            var bad = good
            bad.frames = frames
            cases.append((bad, .invalidFrameCount(frames: frames, temporalCompression: 4), "\(frames) frames"))
        }
        for (width, height) in [(40, 32), (48, 24), (0, 32), (48, -16)] {
            var bad = good
            (bad.width, bad.height) = (width, height)
            cases.append((bad, .invalidSize(width: width, height: height, multiple: 16), "\(width)x\(height)"))
        }
        var noSteps = good
        noSteps.steps = 0
        cases.append((noSteps, .invalidSteps(0), "0 steps"))
        var nanGuidance = good
        nanGuidance.guidanceScale = .nan
        cases.append((nanGuidance, .invalidGuidance(.nan), "guidance scale nan"))
        for (settings, error, text) in cases {
            XCTAssertThrowsError(
                try pipeline.generate(settings, progress: { _ in XCTFail("a step ran") }) { _ in
                    XCTFail("a frame was decoded")
                }
            ) { thrown in
                let thrown = thrown as? WanVideoPipelineError
                if case .invalidGuidance = error {
                    guard case .invalidGuidance(let scale) = thrown else {
                        return XCTFail("\(String(describing: thrown))")
                    }
                    XCTAssertTrue(scale.isNaN)
                } else {
                    XCTAssertEqual(thrown, error)
                }
                XCTAssertTrue(thrown?.description.contains(text) == true, "\(String(describing: thrown))")
            }
            XCTAssertThrowsError(try pipeline.encodePrompts(settings), text)
        }
        XCTAssertEqual(
            WanVideoPipelineError.invalidFrameCount(frames: 10, temporalCompression: 4).description,
            "Wan video: 10 frames is not of the form 4k + 1 (for example 9 or 13)")
    }

    func testComponentsThatDoNotFitAreRefused() throws {
        XCTAssertThrowsError(try pipeline(transformer: "wan-transformer")) { error in
            guard case .mismatchedComponents(let reason) = error as? WanVideoPipelineError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.contains("text_dim is 16"), reason)
        }
    }

    // MARK: Wan 2.2 TI2V

    private func keyframe(_ ti2v: SafetensorsFile) throws -> WanVideoImage {
        let shape = try ti2v.info("image").shape
        return WanVideoImage(width: shape[1], height: shape[0], rgb: try ti2v.floats("image"))
    }

    func testTwoStepImageToVideoMatchesDiffusersTI2V() throws {
        let ti2v = try fixture("wan-pipeline/ti2v.safetensors")
        let pipeline = try pipeline(vae: "wan22")
        XCTAssertEqual(pipeline.sizeMultiple, 32)
        var settings = try settings()
        (settings.width, settings.height) = (64, 32)
        let image = try keyframe(ti2v)
        let shape = try pipeline.latentShape(settings)
        XCTAssertEqual(shape, try ti2v.info("initial_latents").shape)
        XCTAssertEqual(try pipeline.initialLatents(settings), try ti2v.floats("initial_latents"))

        let condition = try pipeline.imageCondition(image, settings: settings)
        let conditionError = relativeL2(condition, try ti2v.floats("condition"))
        XCTAssertLessThanOrEqual(conditionError, 1e-4, "the keyframe's latent")

        var steps = 0
        let latents = try pipeline.denoise(
            settings, conditioning: pipeline.encodePrompts(settings), imageCondition: condition
        ) { _ in steps += 1 }
        XCTAssertEqual(steps, 2)
        let expectedLatents = WanVideoPipeline.replacingFirstFrame(
            try ti2v.floats("latents.1"), with: try ti2v.floats("condition"), shape: shape)
        let latentError = relativeL2(latents, expectedLatents)
        XCTAssertLessThanOrEqual(latentError, 1e-3, "final latents, first frame the keyframe's")

        var chunks: [WanVideoFrames] = []
        try pipeline.decode(latents, shape: shape) { chunks.append($0) }
        XCTAssertEqual(chunks.map(\.count), [1, 4, 4])
        let videoError = relativeL2(chunks.flatMap(\.rgb), try ti2v.floats("video"))
        XCTAssertLessThanOrEqual(videoError, 1e-3, "video")
        print(
            "WanVideoPipeline 2-step TI2V vs diffusers, relative L2: condition \(conditionError), latents "
                + "\(latentError), video \(videoError)")

        var generated: [Float] = []
        try pipeline.generate(settings, image: image) { generated += $0.rgb }
        XCTAssertLessThanOrEqual(relativeL2(generated, try ti2v.floats("video")), 1e-3, "generate with an image")
    }

    func testAKeyframeThatDoesNotFitIsRefusedBeforeAnyWork() throws {
        let pipeline = try pipeline(vae: "wan22")
        var settings = try settings()
        (settings.width, settings.height) = (64, 32)
        let plane = [Float](repeating: 0.5, count: 64 * 32 * 3)
        let cases: [(WanVideoImage, WanVideoPipelineError, String)] = [
            (
                WanVideoImage(width: 48, height: 32, rgb: [Float](repeating: 0.5, count: 48 * 32 * 3)),
                .imageAspectRatio(imageWidth: 48, imageHeight: 32, width: 64, height: 32), "48x32"
            ),
            (
                WanVideoImage(width: 128, height: 64, rgb: [Float](repeating: 0.5, count: 128 * 64 * 3)),
                .imageSize(imageWidth: 128, imageHeight: 64, width: 64, height: 32), "128x64"
            ),
            (
                WanVideoImage(width: 64, height: 32, rgb: Array(plane.dropLast())),
                .invalidImage(reason: "6143 values for 64x32 RGB (6144)"), "6143 values"
            ),
            (
                WanVideoImage(width: 64, height: 32, rgb: [1.5] + plane.dropFirst()),
                .invalidImage(reason: "value 0 is 1.5, outside [0, 1]"), "1.5"
            ),
        ]
        for (image, error, text) in cases {
            XCTAssertThrowsError(
                try pipeline.generate(settings, image: image, progress: { _ in XCTFail("a step ran") }) { _ in
                    XCTFail("a frame was decoded")
                }
            ) { thrown in
                XCTAssertEqual(thrown as? WanVideoPipelineError, error)
                XCTAssertTrue("\(thrown)".contains(text), "\(thrown)")
            }
        }
    }
}
