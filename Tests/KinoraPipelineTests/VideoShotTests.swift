import Foundation
import XCTest

@testable import KinoraPipeline

/// `motion: video` shots: how the workflow reads their settings (and refuses bad ones, naming file, line and field),
/// the stages they become (UMT5 text encoding, an optional keyframe picture and its VAE encode, the clip's denoising
/// and decode, the conform to the output), their cache keys, and the plan of a full-size Wan clip under 8 and 16 GB.
final class VideoShotTests: XCTestCase {
    /// A valid workflow with a still and a video shot; tests replace its lines.
    static let base = """
        output:
          size: 64x64
          fps: 8
        models:
          hero: {catalog: tiny-sd15}
          clip: {catalog: tiny-wan21}
        shots:
          - id: still
            prompt: a harbour
            duration: 1
            final: {model: hero, steps: 1}
          - id: waves
            prompt: waves on a beach
            negative: blurry
            seed: 9
            duration: 1
            motion: video
            final: {model: clip, steps: 2, cfg: 3}
        """

    private func parse(_ text: String) throws -> Workflow {
        try Workflow.parse(text, file: "w.yaml")
    }

    private func replacing(_ old: String, with new: String, in text: String = base) -> String {
        TestSupport.replacing(old, with: new, in: text)
    }

    private func graph(_ text: String, mode: RenderMode = .final,
                       videoFolder: @escaping StageGraphBuilder.VideoFolderReader = { _, _ in nil },
                       families: [String: ModelFamily] = [:]) throws -> StageGraph {
        var builder = try TestSupport.builder(families: families)
        builder.videoFolder = videoFolder
        return try builder.build(try parse(text), mode: mode)
    }

    private func issues(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [SourceIssue] {
        TestSupport.issues(file: file, line: line) { _ = try graph(text) }
    }

    func testAVideoShotBecomesTextEncodingDenoiseDecodeAndConformWithTheFamilysDefaults() throws {
        let built = try graph(Self.base)
        let ids = built.stages.map(\.id).filter { $0.hasPrefix("waves/") }
        XCTAssertEqual(ids, ["waves/encode-text", "waves/denoise", "waves/decode", "waves/conform"])
        let denoise = try XCTUnwrap(built.stage("waves/denoise"))
        XCTAssertEqual(denoise.model, built.stage("waves/denoise")?.model)
        XCTAssertEqual(built.model(of: denoise)?.identity.name, "clip/denoiser")
        // 1 s at tiny-wan21's 16 fps is 16 frames, rounded to the nearest 4k + 1: 17.
        XCTAssertEqual(denoise.parameters.int("frames"), 17)
        XCTAssertEqual(denoise.parameters.int("steps"), 2)
        XCTAssertEqual(denoise.parameters.number("cfg"), 3)
        XCTAssertEqual(denoise.parameters.number("shift"), 3, "the family's")
        XCTAssertEqual(denoise.parameters.string("sampler"), "unipc", "the family's")
        XCTAssertEqual([denoise.parameters.int("width"), denoise.parameters.int("height")], [64, 64])
        XCTAssertEqual(denoise.seed, 9)
        let conform = try XCTUnwrap(built.stage("waves/conform"))
        XCTAssertEqual(conform.inputs, ["waves/decode"])
        XCTAssertEqual(conform.parameters.int("frames"), 8, "1 s at the output's 8 fps")
        XCTAssertEqual(conform.parameters.number("clip_fps"), 16)
        XCTAssertEqual(built.stage("video/encode")?.inputs, ["still/animate", "waves/conform"])
        XCTAssertEqual(built.stage("video/encode")?.steps, 16)

        // Explicit settings; the draft keeps the final's frames, halves its size within the model's multiple of 16
        // and at least 64 (96x64 -> 64x64) and takes fewer steps.
        let explicit = replacing("final: {model: clip, steps: 2, cfg: 3}",
                                 with: "final: {model: clip, steps: 6, cfg: 3, frames: 9, shift: 5, sampler: euler, "
                                     + "size: 96x64}\n    draft: {steps: 1}")
        let final = try XCTUnwrap(graph(explicit).stage("waves/denoise")?.parameters)
        XCTAssertEqual([final.int("frames"), final.int("steps"), final.int("width"), final.int("height")],
                       [9, 6, 96, 64])
        XCTAssertEqual([final.number("shift"), final.number("cfg")], [5, 3])
        XCTAssertEqual(final.string("sampler"), "euler")
        let draft = try XCTUnwrap(graph(explicit, mode: .draft).stage("waves/denoise")?.parameters)
        XCTAssertEqual([draft.int("frames"), draft.int("steps"), draft.int("width"), draft.int("height")],
                       [9, 1, 64, 64])
        let large = replacing("final: {model: clip, steps: 2, cfg: 3}", with: "final: {model: clip, size: 832x480}")
        let halved = try XCTUnwrap(graph(large, mode: .draft).stage("waves/denoise")?.parameters)
        XCTAssertEqual([halved.int("width"), halved.int("height"), halved.int("frames")], [416, 240, 17])
    }

    /// The workhorse pattern for motion: a video shot whose draft names an autoregressive model is drafted as a stream
    /// of the same length (chunks of the causal Wan, each cached), with the same seed, while the final stays a clip.
    func testAVideoShotDraftedByAnAutoregressiveModelIsDraftedAsAStream() throws {
        let text = replacing("clip: {catalog: tiny-wan21}",
                             with: "clip: {catalog: tiny-wan21}\n  fast: {catalog: tiny-wan21-causal}")
            .replacingOccurrences(of: "final: {model: clip, steps: 2, cfg: 3}",
                                  with: "final: {model: clip, steps: 2, cfg: 3}\n    draft: {model: fast}")
        let final = try graph(text)
        XCTAssertNotNil(final.stage("waves/denoise"))
        XCTAssertNil(final.stage("waves/chunk-1"))
        let draft = try graph(text, mode: .draft)
        XCTAssertNil(draft.stage("waves/denoise"))
        let chunk = try XCTUnwrap(draft.stage("waves/chunk-1"))
        XCTAssertEqual(draft.model(of: chunk)?.identity.name, "fast/denoiser")
        XCTAssertEqual(chunk.seed, 9, "the seed carries over")
        XCTAssertEqual(draft.stage("waves/conform")?.parameters.int("frames"), 8, "1 s at the output's 8 fps")
        XCTAssertEqual(draft.stage("video/encode")?.inputs, ["still/animate", "waves/conform"])
        // A clip's sampler settings on that draft are refused, naming the field, not silently dropped.
        do {
            _ = try graph(text.replacingOccurrences(of: "draft: {model: fast}", with: "draft: {model: fast, steps: 4}"),
                          mode: .draft)
            XCTFail("expected the draft's steps to be refused")
        } catch StageGraphError.invalid(let found) {
            XCTAssertEqual(found.map(\.field), ["shots[1].draft.steps"])
            XCTAssertTrue(found.first?.message.contains("made as a stream") == true, "\(found)")
        }
    }

    /// A draft by a model of another frame rate keeps the shot's duration, not the final's frame count, and takes
    /// that model's multiple: a 24 fps Wan 2.2 final of 49 frames at 1280x704 drafts on the 16 fps Wan 2.1 as 33
    /// frames at 640x352.
    func testADraftByAnotherVideoModelKeepsTheDurationAndTakesItsMultiple() throws {
        let text = replacing("clip: {catalog: tiny-wan21}",
                             with: "clip: {catalog: tiny-wan22}\n  fast: {catalog: tiny-wan21}")
            .replacingOccurrences(of: "    duration: 1\n    motion: video", with: "    duration: 2\n    motion: video")
            .replacingOccurrences(of: "final: {model: clip, steps: 2, cfg: 3}",
                                  with: "final: {model: clip, frames: 49, size: 1280x704}\n    draft: {model: fast}")
        let final = try XCTUnwrap(graph(text).stage("waves/denoise")?.parameters)
        XCTAssertEqual([final.int("width"), final.int("height"), final.int("frames")], [1280, 704, 49])
        let draft = try XCTUnwrap(graph(text, mode: .draft).stage("waves/denoise"))
        XCTAssertEqual([draft.parameters.int("width"), draft.parameters.int("height"), draft.parameters.int("frames")],
                       [640, 352, 33])
        XCTAssertEqual(draft.seed, 9, "the seed carries over")
    }

    func testAKeyframeIsGeneratedByTheImageModelAndEncodedBeforeTheClip() throws {
        let text = replacing("clip: {catalog: tiny-wan21}", with: "clip: {catalog: tiny-wan22}")
            .replacingOccurrences(of: "    motion: video\n",
                                  with: "    motion: video\n    keyframe: {model: hero, steps: 3, cfg: 1}\n")
        let built = try graph(text)
        XCTAssertEqual(built.stages.map(\.id).filter { $0.hasPrefix("waves/") }, [
            "waves/keyframe/encode-text", "waves/keyframe/denoise", "waves/keyframe/decode", "waves/encode-keyframe",
            "waves/encode-text", "waves/denoise", "waves/decode", "waves/conform",
        ])
        let picture = try XCTUnwrap(built.stage("waves/keyframe/denoise"))
        XCTAssertEqual(built.model(of: picture)?.identity.name, "hero/denoiser")
        XCTAssertEqual([picture.parameters.int("width"), picture.parameters.int("height")], [64, 64], "the clip's")
        XCTAssertEqual(picture.parameters.int("steps"), 3)
        XCTAssertEqual(picture.seed, 9, "the shot's seed")
        let encode = try XCTUnwrap(built.stage("waves/encode-keyframe"))
        XCTAssertEqual(encode.kind, .encodeImage)
        XCTAssertEqual(built.model(of: encode)?.identity.name, "clip/decoder")
        XCTAssertEqual(built.stage("waves/denoise")?.inputs, ["waves/encode-text", "waves/encode-keyframe"])
        // tiny-wan22 plays at 24 fps: 1 s is 24 frames, 25 as 4k + 1.
        XCTAssertEqual(built.stage("waves/denoise")?.parameters.int("frames"), 25)
    }

    func testBadVideoShotsAreRefusedNamingLineAndField() {
        let cases: [(String, String, String, Int, String)] = [
            ("final: {model: hero, steps: 1}", "final: {model: hero, steps: 1, frames: 9}", "shots[0].final", 11,
             "'frames' applies to video shots (motion: video); this shot is a still"),
            ("final: {model: hero, steps: 1}", "final: {model: hero, shift: 3}", "shots[0].final", 11,
             "'shift' applies to video shots"),
            ("    final: {model: hero, steps: 1}\n", "    final: {model: hero}\n    keyframe: {model: hero}\n",
             "shots[0].keyframe", 12, "a keyframe starts a video shot's clip (motion: video)"),
            ("cfg: 3}", "cfg: 3, sampler: euler_a}", "shots[1].final.sampler", 18,
             "unknown value 'euler_a'"),
            ("cfg: 3}", "cfg: 3, frames: 0}", "shots[1].final.frames", 18, "must be between 1 and 2001"),
            ("motion: video", "motion: video\n    prompts: []", "shots[1].prompts", 18,
             "a prompt schedule switches a stream's prompt (motion: stream)"),
            ("motion: video", "motion: film", "shots[1].motion", 17, "unknown value 'film'"),
            ("motion: video", "motion: video\n    camera: none", "shots[1].camera", 18,
             "camera moves apply to stills"),
            ("motion: video", "motion: video\n    keyframe: {model: hero, size: 64x64}", "shots[1].keyframe.size",
             18, "unknown key 'size'"),
            ("motion: video", "motion: video\n    keyframe: {model: hreo}", "shots[1].keyframe.model", 18,
             "no model named 'hreo' (did you mean 'hero'?)"),
        ]
        for (old, new, field, line, message) in cases {
            TestSupport.assertRefused(issues(replacing(old, with: new)), fields: [field], line: line, message: message,
                                      edit: new)
        }
    }

    func testClipsTheModelCannotMakeAreRefusedBeforeAnythingRuns() {
        let t2v = VideoModelFolder(url: URL(fileURLWithPath: "/t2v"), takesKeyframe: false, sizeMultiple: 16,
                                   temporalScale: 4)
        let cases: [(String, String, String, String)] = [
            ("cfg: 3}", "cfg: 3, size: 72x64}", "shots[1].final.size",
             "72x64 is not a multiple of 16 on both sides, as 'clip' (tiny-wan21) needs; try 64x64"),
            ("cfg: 3}", "cfg: 3, frames: 10}", "shots[1].final.frames",
             "10 frames is not of the form 4k + 1, as 'clip' needs (for example 9 or 13)"),
            ("motion: video", "motion: video\n    keyframe: {model: hero}", "shots[1].keyframe",
             "'clip' (tiny-wan21) makes clips from text only; a keyframe needs an image-to-video model"),
            ("motion: video", "motion: video\n    keyframe: {model: clip}", "shots[1].keyframe.model",
             "'clip' is a tiny-wan21 model, which makes videos; a keyframe needs one that makes images"),
        ]
        for (old, new, field, message) in cases {
            XCTAssertThrowsError(try graph(replacing(old, with: new), videoFolder: { _, _ in t2v }), new) { error in
                guard case StageGraphError.invalid(let issues) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(issues.map(\.field), [field], new)
                XCTAssertTrue(issues.first?.message.contains(message) == true, issues.first?.message ?? "none")
            }
        }
    }

    func testTheFoldersOfTheTinyModelsSayWhetherTheyTakeAKeyframe() throws {
        let fixtures = TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-pipeline")
        let t2v = try VideoModelFolder.open(fixtures.appendingPathComponent("t2v"))
        XCTAssertEqual([t2v.takesKeyframe ? 1 : 0, t2v.sizeMultiple, t2v.temporalScale], [0, 16, 4])
        let ti2v = try VideoModelFolder.open(fixtures.appendingPathComponent("ti2v"))
        XCTAssertEqual([ti2v.takesKeyframe ? 1 : 0, ti2v.sizeMultiple, ti2v.temporalScale], [1, 32, 4])
        XCTAssertThrowsError(try VideoModelFolder.open(fixtures.appendingPathComponent("ti2v.safetensors"))) {
            XCTAssertTrue("\($0)".contains("a single transformer file needs a base: the Wan diffusers folder"),
                          "\($0)")
        }
    }

    func testStageKeysChangeWithEachSettingOfTheClipAndNothingElse() throws {
        let full = replacing("final: {model: clip, steps: 2, cfg: 3}",
                             with: "final: {model: clip, steps: 2, cfg: 3, frames: 9, shift: 4, sampler: unipc}")
        func keys(_ text: String) throws -> [String: String] { StageKeys.compute(try graph(text)) }
        let before = try keys(full)
        for (old, new) in [("waves on a beach", "waves on rocks"), ("blurry", "dark"), ("steps: 2", "steps: 3"),
                           ("cfg: 3", "cfg: 4"), ("frames: 9", "frames: 13"), ("shift: 4", "shift: 5"),
                           ("sampler: unipc", "sampler: euler"), ("seed: 9", "seed: 10"),
                           ("sampler: unipc}", "sampler: unipc, size: 96x64}")] {
            let after = try keys(replacing(old, with: new, in: full))
            XCTAssertNotEqual(after["waves/denoise"], before["waves/denoise"], new)
            XCTAssertNotEqual(after["waves/conform"], before["waves/conform"], new)
            XCTAssertEqual(after["still/animate"], before["still/animate"], "the other shot stays: \(new)")
        }
        // The text encoding depends on the prompts and on whether guidance is on, not on its scale or the clip.
        for (old, new, changes) in [("steps: 2", "steps: 3", false), ("cfg: 3", "cfg: 4", false),
                                    ("cfg: 3", "cfg: 1", true), ("blurry", "dark", true)] {
            let after = try keys(replacing(old, with: new, in: full))
            XCTAssertEqual(after["waves/encode-text"] != before["waves/encode-text"], changes, new)
        }
        // How long the shot is on screen changes only the conform (the clip's frames are given).
        let longer = try keys(replacing("    duration: 1\n    motion", with: "    duration: 2\n    motion", in: full))
        XCTAssertEqual(longer["waves/decode"], before["waves/decode"])
        XCTAssertNotEqual(longer["waves/conform"], before["waves/conform"])
        // The output's frame rate and size change the conform, not the clip.
        let output = try keys(replacing("fps: 8", with: "fps: 12", in: full))
        XCTAssertEqual(output["waves/decode"], before["waves/decode"])
        XCTAssertNotEqual(output["waves/conform"], before["waves/conform"])
    }

    /// Wan 2.1 T2V 1.3B at 832×480, 81 frames, with the catalog's full-size figures: under 16 GB the 11.4 GB UMT5-XXL
    /// fits resident; under 8 GB it streams layer by layer and the DiT stays resident; under 4 GB the DiT streams
    /// block by block and the decode, which no tactic brings under 4 GB, is refused before anything runs.
    func testAFullSizeClipIsPlannedUnder8And16GBAndRefusedUnder4() throws {
        let text = """
            output: {size: 832x480, fps: 16}
            models:
              wan: {catalog: wan21-t2v-1.3b}
            shots:
              - {id: sea, prompt: waves, duration: 5, motion: video, final: {model: wan}}
            """
        let built = try graph(text)
        XCTAssertEqual(built.stage("sea/denoise")?.parameters.int("frames"), 81, "5 s at 16 fps, as 4k + 1")
        func plan(_ gigabytes: UInt64) throws -> Plan {
            try Planner(device: DeviceProfile(budgetBytes: gigabytes * 1_000_000_000)).plan(built)
        }
        func step(_ plan: Plan, _ stage: String) throws -> PlanStep {
            try XCTUnwrap(plan.steps.first { $0.action == .run && $0.stages == [stage] })
        }
        let roomy = try plan(16)
        XCTAssertEqual(try step(roomy, "sea/encode-text").tactic?.streamedWeights, false)
        XCTAssertEqual(try step(roomy, "sea/denoise").tactic?.description, "batch 1, CFG sequential")
        XCTAssertLessThanOrEqual(roomy.predictedPeakBytes, 16_000_000_000)

        let tight = try plan(8)
        XCTAssertEqual(try step(tight, "sea/encode-text").tactic?.streamedWeights, true)
        XCTAssertEqual(try step(tight, "sea/denoise").tactic?.streamedWeights, false)
        XCTAssertEqual(tight.loadCounts.values.max(), 1, "each model loads once")
        XCTAssertLessThanOrEqual(tight.predictedPeakBytes, 8_000_000_000)
        // The peak is the denoise's: the DiT's 2.84 GB and a pass over 104x60x21 latent voxels.
        let denoise = try step(tight, "sea/denoise")
        XCTAssertEqual(denoise.peakBytes, tight.predictedPeakBytes)
        XCTAssertGreaterThan(denoise.peakBytes, 6_000_000_000)

        XCTAssertThrowsError(try plan(4)) { error in
            guard case PlanError.doesNotFit(let stage, let model, _, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual([stage, model], ["sea/decode", "wan/decoder"])
        }
    }

    /// Clips that differ only in their prompts, negative prompts and seeds share a batch signature; any other setting
    /// of the clip (model, size, frames, steps, sampler, shift, cfg, a keyframe) gives another.
    func testClipsDifferingOnlyInPromptsAndSeedsShareABatchSignature() throws {
        let text = """
            output: {size: 64x64, fps: 8}
            models:
              hero: {catalog: tiny-sd15}
              clip: {catalog: tiny-wan21}
              other: {catalog: tiny-wan22}
            shots:
              - {id: a, prompt: waves, seed: 1, duration: 1, motion: video, final: {model: clip}}
              - {id: b, prompt: a kite, negative: dark, seed: 2, duration: 1, motion: video, final: {model: clip}}
            """
        let built = try graph(text)
        let signature = try XCTUnwrap(built.stage("a/denoise")?.batchSignature)
        XCTAssertEqual(built.stage("b/denoise")?.batchSignature, signature)
        for change in ["model: other", "model: clip, size: 96x64", "model: clip, frames: 13", "model: clip, steps: 3",
                       "model: clip, sampler: euler", "model: clip, shift: 4", "model: clip, cfg: 4"] {
            let other = try graph(replacing("seed: 2, duration: 1, motion: video, final: {model: clip}}",
                                            with: "seed: 2, duration: 1, motion: video, final: {\(change)}}",
                                            in: text))
            XCTAssertNotEqual(other.stage("b/denoise")?.batchSignature, signature, change)
        }
        let keyframed = try graph(replacing("final: {model: clip}}",
                                            with: "final: {model: clip}, keyframe: {model: hero}}", in: text))
        XCTAssertNotEqual(keyframed.stage("b/denoise")?.batchSignature, signature, "a keyframe")
    }

    /// Two Wan 2.1 1.3B clips of 832×480, 81 frames with the catalog's full-size figures: within 12 GB they denoise as
    /// one batch (the DiT's 2.84 GB once, 3.48 GB of activations each); within 8 GB one at a time; a third clip of
    /// another size on its own either way.
    func testTwoFullSizeClipsDenoiseTogetherWhereBothFitAndOneAtATimeWhereOnlyOneDoes() throws {
        let text = """
            output: {size: 832x480, fps: 16}
            models:
              wan: {catalog: wan21-t2v-1.3b}
            shots:
              - {id: sea, prompt: waves, seed: 1, duration: 5, motion: video, final: {model: wan}}
              - {id: sky, prompt: clouds, seed: 2, duration: 5, motion: video, final: {model: wan}}
              - {id: low, prompt: rain, seed: 3, duration: 5, motion: video, final: {model: wan, size: 480x272}}
            """
        let built = try graph(text)
        func denoises(_ gigabytes: UInt64) throws -> [(stages: [String], tactic: String?, peak: UInt64)] {
            try Planner(device: DeviceProfile(budgetBytes: gigabytes * 1_000_000_000)).plan(built).steps
                .filter { $0.action == .run && $0.kind == .denoise }
                .map { ($0.stages, $0.tactic?.description, $0.peakBytes) }
        }
        let roomy = try denoises(12)
        XCTAssertEqual(roomy.map(\.stages), [["sea/denoise", "sky/denoise"], ["low/denoise"]])
        XCTAssertEqual(roomy.first?.tactic, "batch 2, CFG sequential")
        XCTAssertLessThanOrEqual(try XCTUnwrap(roomy.first?.peak), 12_000_000_000)
        XCTAssertGreaterThan(try XCTUnwrap(roomy.first?.peak), 8_000_000_000)

        let tight = try denoises(8)
        XCTAssertEqual(tight.map(\.stages), [["sea/denoise"], ["sky/denoise"], ["low/denoise"]])
        XCTAssertEqual(tight.first?.tactic, "batch 1, CFG sequential")
    }
}
