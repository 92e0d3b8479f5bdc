import Foundation
import XCTest

@testable import KinoraPipeline

/// `motion: stream` shots: how the workflow reads them (and refuses bad ones, naming file, line and field), the
/// stages they become (a text encoding per prompt in effect, one denoise stage per chunk chained to the one before,
/// a streamed decode, the conform), their cache keys (an edit late in the prompt schedule, or a longer shot, keeps
/// the chunks before it), and the graph and plan of a ten-minute stream, which grow with the chunks and no faster.
final class StreamShotTests: XCTestCase {
    /// A valid workflow with a still and a two-second stream that switches its prompt at one second; tests replace
    /// its lines.
    static let base = """
        output:
          size: 64x64
          fps: 8
        models:
          hero: {catalog: tiny-sd15}
          fox: {catalog: tiny-wan21-causal}
        shots:
          - id: still
            prompt: a harbour
            duration: 1
            final: {model: hero, steps: 1}
          - id: run
            prompt: a fox runs through snow
            seed: 5
            duration: 2
            motion: stream
            final: {model: fox}
            prompts:
              - {at: 1.0, prompt: the fox reaches a frozen lake}
        """

    private func replacing(_ old: String, with new: String, in text: String = base) -> String {
        TestSupport.replacing(old, with: new, in: text)
    }

    private func graph(_ text: String, mode: RenderMode = .final) throws -> StageGraph {
        try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: mode)
    }

    private func issues(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [SourceIssue] {
        TestSupport.issues(file: file, line: line) { _ = try graph(text) }
    }

    func testAStreamBecomesItsPromptsOneChainedStagePerChunkADecodeAndAConform() throws {
        let built = try graph(Self.base)
        XCTAssertEqual(built.stages.map(\.id).filter { $0.hasPrefix("run/") }, [
            "run/encode-text", "run/chunk-1", "run/chunk-2", "run/encode-text-2", "run/chunk-3", "run/decode",
            "run/conform",
        ])
        // 2 s at 16 fps is 32 frames: 9 latent frames, 3 chunks of 3, 33 frames. Chunk 3 starts at frame 21
        // (1.31 s), the first after the switch at 1 s; chunk 2 at frame 9 (0.56 s).
        let chunks = (1...3).compactMap { built.stage("run/chunk-\($0)") }
        XCTAssertEqual(chunks.map(\.kind), [.denoise, .denoise, .denoise])
        XCTAssertEqual(chunks.map { $0.inputs }, [
            ["run/encode-text"], ["run/encode-text", "run/chunk-1"], ["run/encode-text-2", "run/chunk-2"],
        ])
        XCTAssertEqual(chunks.map { $0.parameters.int("prompt_from") }, [0, 0, 2])
        XCTAssertEqual(chunks.map { $0.parameters.int("frames") }, [9, 12, 12], "the video frames each decodes to")
        XCTAssertEqual(chunks.map(\.steps), [9, 12, 12], "progress in frames")
        XCTAssertEqual(chunks.map { $0.parameters.int("steps") }, [4, 4, 4], "Self-Forcing's four steps")
        XCTAssertEqual(chunks.map { $0.parameters.int("window") }, [0, 0, 0], "9 latent frames need no window")
        XCTAssertEqual(chunks.map(\.seed), [5, 5, 5])
        XCTAssertEqual(built.model(of: chunks[0])?.identity.name, "fox/denoiser")
        XCTAssertEqual(built.stage("run/encode-text-2")?.parameters.string("prompt"), "the fox reaches a frozen lake")
        XCTAssertEqual(built.stage("run/encode-text")?.parameters.bool("guidance"), false)
        let decode = try XCTUnwrap(built.stage("run/decode"))
        XCTAssertEqual(decode.inputs, ["run/chunk-1", "run/chunk-2", "run/chunk-3"])
        XCTAssertEqual(decode.parameters.int("frames"), 33)
        XCTAssertEqual(built.model(of: decode)?.identity.name, "fox/decoder")
        let conform = try XCTUnwrap(built.stage("run/conform"))
        XCTAssertEqual(conform.inputs, ["run/decode"])
        XCTAssertEqual(conform.parameters.int("frames"), 16, "2 s at the output's 8 fps")
        XCTAssertEqual(conform.parameters.number("clip_fps"), 16)
        XCTAssertEqual(built.stage("video/encode")?.inputs, ["still/animate", "run/conform"])

        // The stream is finished as a clip: upscaled, then conformed.
        let upscaled = try graph(replacing("final: {model: fox}",
                                           with: "final: {model: fox}\n    upscale: {model: sharp, scale: 2}")
            .replacingOccurrences(of: "models:\n", with: "models:\n  sharp: {catalog: realesr-animevideov3}\n"))
        XCTAssertEqual(upscaled.stage("run/upscale")?.inputs, ["run/decode"])
        XCTAssertEqual(upscaled.stage("run/upscale")?.parameters.int("frames"), 33)
        XCTAssertEqual(upscaled.stage("run/conform")?.inputs, ["run/upscale"])

        // chunk_frames and the CausVid schedule; a draft keeps them unless it gives its own.
        let causVid = replacing("final: {model: fox}",
                                with: "final: {model: fox, chunk_frames: 2, schedule: causvid}\n    draft: {}")
        let draft = try graph(causVid, mode: .draft)
        XCTAssertEqual(draft.stages.filter { $0.id.hasPrefix("run/chunk-") }.count, 5, "9 latent frames in 2s: 10")
        XCTAssertEqual(draft.stage("run/chunk-1")?.parameters.int("steps"), 3)
        XCTAssertEqual(draft.stage("run/chunk-1")?.parameters.string("schedule"), "causvid")
    }

    func testAKeyframeStartsTheStreamAndEveryChunkAndTheDecodeReadIt() throws {
        let text = replacing("    final: {model: fox}\n",
                             with: "    final: {model: fox}\n    keyframe: {model: hero, steps: 2}\n")
        let built = try graph(text)
        XCTAssertEqual(built.stages.map(\.id).filter { $0.hasPrefix("run/") }.prefix(4), [
            "run/keyframe/encode-text", "run/keyframe/denoise", "run/keyframe/decode", "run/encode-keyframe",
        ])
        // The keyframe is the first latent frame: 8 more make 3 chunks, 10 latent frames, 37 frames.
        XCTAssertEqual(built.stage("run/chunk-1")?.inputs, ["run/encode-text", "run/encode-keyframe"])
        XCTAssertEqual(built.stage("run/chunk-2")?.inputs, ["run/encode-text", "run/encode-keyframe", "run/chunk-1"])
        XCTAssertEqual(built.stage("run/chunk-1")?.parameters.int("frames"), 12)
        XCTAssertEqual(built.stage("run/decode")?.inputs,
                       ["run/encode-keyframe", "run/chunk-1", "run/chunk-2", "run/chunk-3"])
        XCTAssertEqual(built.stage("run/decode")?.parameters.int("frames"), 37)
        XCTAssertEqual(built.model(of: try XCTUnwrap(built.stage("run/encode-keyframe")))?.identity.name,
                       "fox/decoder")
        XCTAssertEqual(built.stage("run/encode-keyframe")?.parameters.bool("stream"), true,
                       "a stream's start, which any Wan's VAE encodes")
    }

    func testBadStreamShotsAreRefusedNamingLineAndField() {
        let cases: [(String, String, String, Int, String)] = [
            ("final: {model: fox}", "final: {model: fox, schedule: dmd}", "shots[1].final.schedule", 17,
             "unknown value 'dmd'"),
            ("final: {model: fox}", "final: {model: fox, chunk_frames: 0}", "shots[1].final.chunk_frames", 17,
             "must be between 1 and 16"),
            ("final: {model: fox}", "final: {model: fox, steps: 4}", "shots[1].final.steps", 17,
             "unknown key 'steps'"),
            ("{at: 1.0, prompt", "{at: 2.5, prompt", "shots[1].prompts[0].at", 19,
             "2.5 s is not inside the shot (its duration is 2 s)"),
            ("{at: 1.0, prompt: the fox reaches a frozen lake}",
             "{at: 1.0, prompt: a lake}\n      - {at: 0.5, prompt: a hill}", "shots[1].prompts[1].at", 20,
             "must be after the entry before it (1 s), got 0.5 s"),
            ("{at: 1.0, prompt: the fox reaches a frozen lake}", "{prompt: a lake}", "shots[1].prompts[0].at", 19,
             "missing required field 'at'"),
            ("motion: stream", "motion: stream\n    camera: none", "shots[1].camera", 17,
             "camera moves apply to stills"),
            ("    final: {model: hero, steps: 1}\n", "    final: {model: hero}\n    prompts: []\n",
             "shots[0].prompts", 12, "a prompt schedule switches a stream's prompt (motion: stream)"),
        ]
        for (old, new, field, line, message) in cases {
            TestSupport.assertRefused(issues(replacing(old, with: new)), fields: [field], line: line, message: message,
                                      edit: new)
        }
        let wan22 = issues(replacing("fox: {catalog: tiny-wan21-causal}", with: "fox: {catalog: tiny-wan22}"))
        XCTAssertEqual(wan22.map(\.field), ["shots[1].final.model"])
        XCTAssertTrue(wan22.first?.message.contains("a stream needs a causal Wan of Wan 2.1's architecture") == true,
                      "\(wan22)")
        let image = issues(replacing("final: {model: fox}", with: "final: {model: hero}"))
        XCTAssertEqual(image.map(\.field), ["shots[1].final.model"])
        XCTAssertTrue(image.first?.message.contains("'hero' is a tiny-sd15 model, which makes images; a stream shot "
                                                    + "needs one that makes videos") == true, "\(image)")
        // Chunks start at 0, 0.56 and 1.31 s: a switch at 1.5 s, or one a switch at 1.2 s overtakes, is never seen.
        for (new, entry, message) in [
            ("{at: 1.5, prompt: a lake}", 0, "no chunk starts after it: the last starts at 1.31 s"),
            ("{at: 0.7, prompt: a lake}\n      - {at: 1.2, prompt: ice}", 0,
             "a later entry takes over before chunk 3, the first to start after it (at 1.31 s)"),
        ] {
            let late = issues(replacing("{at: 1.0, prompt: the fox reaches a frozen lake}", with: new))
            XCTAssertEqual(late.map(\.field), ["shots[1].prompts[\(entry)].at"], new)
            XCTAssertEqual(late.first?.location.line, 19, new)
            XCTAssertTrue(late.first?.message.contains("the stream would never follow 'a lake': " + message) == true,
                          "\(late)")
        }
        let size = issues(replacing("final: {model: fox}", with: "final: {model: fox, size: 72x64}"))
        XCTAssertEqual(size.map(\.field), ["shots[1].final.size"])
        XCTAssertTrue(size.first?.message.contains("72x64 is not a multiple of 16") == true, "\(size)")
    }

    /// A stream runs on a clip model's weights but makes nonsense: a catalog family without `autoregressive: true` is
    /// refused, and so is a path declared with one (nothing in a folder says its transformer is causal), unless the
    /// file is a causal model's training checkpoint (its generator's weights under `generator_ema`/`generator`).
    func testAStreamOnAModelNotKnownToBeCausalIsRefusedNamingTheShotsModel() throws {
        let clip = issues(replacing("fox: {catalog: tiny-wan21-causal}", with: "fox: {catalog: tiny-wan21}"))
        TestSupport.assertRefused(clip, fields: ["shots[1].final.model"], line: 17,
                                  message: "'fox' is a tiny-wan21 model, a clip model whose transformer sees the whole "
                                      + "clip at once: a stream needs a causal (autoregressive) Wan",
                                  edit: "catalog: tiny-wan21")
        XCTAssertTrue(clip.first?.message.contains("autoregressive: true (tiny-wan21-causal); make the shot "
                                                   + "motion: video") == true, "\(clip)")
        let declared = "fox: {path: ../Tests/Fixtures/wan-pipeline/t2v, family: tiny-wan21}"
        let folder = issues(replacing("fox: {catalog: tiny-wan21-causal}", with: declared))
        TestSupport.assertRefused(folder, fields: ["shots[1].final.model"], line: 17,
                                  message: "declare it with family: tiny-wan21-causal in its models entry",
                                  edit: declared)

        // A file given by path is taken as causal when it is a training checkpoint, whatever family it is declared.
        let file = replacing("fox: {catalog: tiny-wan21-causal}", with: "fox: {path: fox.pt, family: tiny-wan21}")
        func build(trainingCheckpoint: Bool) throws -> StageGraph {
            var builder = try TestSupport.builder()
            builder.videoFolder = { _, _ in
                VideoModelFolder(url: URL(fileURLWithPath: "/m/fox.pt"), base: URL(fileURLWithPath: "/m/t2v"),
                                 takesKeyframe: false, sizeMultiple: 16, temporalScale: 4,
                                 isTrainingCheckpoint: trainingCheckpoint)
            }
            return try builder.build(try Workflow.parse(file, file: "w.yaml"), mode: .final)
        }
        XCTAssertEqual(try build(trainingCheckpoint: true).stages.filter { $0.id.hasPrefix("run/chunk-") }.count, 3)
        let plain = TestSupport.issues { _ = try build(trainingCheckpoint: false) }
        TestSupport.assertRefused(plain, fields: ["shots[1].final.model"], line: 17,
                                  message: "nothing in its single transformer file says its transformer is causal",
                                  edit: "a plain transformer file")
    }

    /// `window`, `sink` and `kv_cache` reach every chunk as the CLI's --window, --sink and --kv-cache would, and the
    /// decode's feature cache follows the KV cache's type as the CLI's does; the sink defaults to one chunk;
    /// impossible windows are refused naming the field.
    func testAnAskedWindowSinkAndCacheTypeReachEveryChunk() throws {
        let asked = try graph(replacing("final: {model: fox}", with: "final: {model: fox, window: 6, kv_cache: bf16}"))
        let chunks = asked.stages.filter { $0.id.hasPrefix("run/chunk-") }
        XCTAssertEqual(chunks.count, 3)
        XCTAssertEqual(Set(chunks.map { $0.parameters.int("window") }), [6])
        XCTAssertEqual(Set(chunks.map { $0.parameters.int("sink") }), [3], "one chunk")
        XCTAssertEqual(Set(chunks.map { $0.parameters.string("kv_cache") }), ["bf16"])
        XCTAssertEqual(asked.stage("run/decode")?.parameters.string("feature_cache"), "f16")
        let full = try graph(replacing("final: {model: fox}", with: "final: {model: fox, kv_cache: f32}"))
        XCTAssertEqual(full.stage("run/decode")?.parameters.string("feature_cache"), "f32")
        let sunk = try graph(replacing("final: {model: fox}", with: "final: {model: fox, window: 6, sink: 1}"))
        XCTAssertEqual(sunk.stage("run/chunk-2")?.parameters.int("sink"), 1)
        XCTAssertEqual(sunk.stage("run/chunk-2")?.parameters.string("kv_cache"), "f16", "the default")
        XCTAssertEqual(sunk.stage("run/decode")?.parameters.string("feature_cache"), "f16", "the default")
        XCTAssertNotEqual(StageKeys.compute(asked)["run/chunk-1"], StageKeys.compute(sunk)["run/chunk-1"])
        for (new, field, message) in [
            ("final: {model: fox, window: 3}", "shots[1].final.window", "must hold more than a chunk"),
            ("final: {model: fox, window: 6, sink: 5}", "shots[1].final.sink", "leaves no room in a window of 6"),
            ("final: {model: fox, sink: 1}", "shots[1].final.sink", "give 'window' too"),
            ("final: {model: fox, kv_cache: f8}", "shots[1].final.kv_cache", "unknown value 'f8'"),
        ] {
            let found = issues(replacing("final: {model: fox}", with: new))
            XCTAssertEqual(found.map(\.field), [field], new)
            XCTAssertTrue(found.first?.message.contains(message) == true, "\(new): \(found)")
        }
    }

    func testAnEditLateInTheScheduleOrALongerStreamKeepsTheChunksBeforeIt() throws {
        func keys(_ text: String) throws -> [String: String] { StageKeys.compute(try graph(text)) }
        let before = try keys(Self.base)
        let chunks = ["run/chunk-1", "run/chunk-2", "run/chunk-3"]
        let edited = try keys(replacing("the fox reaches a frozen lake", with: "the fox reaches a river"))
        XCTAssertEqual(chunks.map { edited[$0] == before[$0] }, [true, true, false])
        XCTAssertEqual(edited["run/encode-text"], before["run/encode-text"])
        XCTAssertNotEqual(edited["run/decode"], before["run/decode"])
        XCTAssertEqual(edited["still/animate"], before["still/animate"], "the other shot stays")
        // A switch moved from chunk 3 to chunk 2: chunk 2 and every chunk after it.
        let earlier = try keys(replacing("at: 1.0", with: "at: 0.5"))
        XCTAssertEqual(chunks.map { earlier[$0] == before[$0] }, [true, false, false])
        // The seed and the shot's own prompt reach every chunk.
        for (old, new) in [("seed: 5", "seed: 6"), ("a fox runs through snow", "a fox walks")] {
            let changed = try keys(replacing(old, with: new))
            XCTAssertEqual(chunks.map { changed[$0] == before[$0] }, [false, false, false], new)
        }
        // Three seconds is 5 chunks (15 latent frames, still no window): the first three are those of two seconds.
        let longer = try keys(replacing("duration: 2\n    motion", with: "duration: 3\n    motion"))
        XCTAssertEqual(chunks.map { longer[$0] == before[$0] }, [true, true, true])
        XCTAssertNotNil(longer["run/chunk-5"])
        XCTAssertNotEqual(longer["run/decode"], before["run/decode"])
        // The still's edit leaves the stream alone.
        let still = try keys(replacing("a harbour", with: "a bay"))
        XCTAssertEqual((chunks + ["run/decode", "run/conform"]).map { still[$0] == before[$0] },
                       [true, true, true, true, true])
    }

    /// Ten minutes at 832×480 with the full-size causal Wan's catalog figures (nothing is read): 9600 frames need
    /// 2401 latent frames, 801 chunks (9609 frames), each with at most its prompt, its start picture and the chunk
    /// before as inputs (so the graph grows with the chunks, not their square), in the trained window of 21 latent
    /// frames with a sink of a chunk; every chunk is planned on the resident DiT loaded once.
    func testATenMinuteStreamIsOneStagePerChunkWithTheAutomaticWindow() throws {
        let text = """
            output: {size: 832x480, fps: 16}
            models:
              wan: {catalog: wan21-causal-1.3b}
            shots:
              - id: long
                prompt: a train crosses the mountains
                duration: 600
                motion: stream
                final: {model: wan}
                prompts:
                  - {at: 300, prompt: the train reaches the sea}
            """
        let built = try graph(text)
        let chunks = built.stages.filter { $0.id.hasPrefix("long/chunk-") }
        XCTAssertEqual(chunks.count, 801)
        XCTAssertLessThanOrEqual(built.stages.map(\.inputs.count).filter { $0 > 0 }.dropLast(4).max() ?? 0, 3)
        XCTAssertEqual(built.stage("long/decode")?.inputs.count, 801)
        XCTAssertEqual(built.stage("long/decode")?.parameters.int("frames"), 9609)
        XCTAssertEqual(Set(chunks.map { $0.parameters.int("window") }), [21])
        XCTAssertEqual(Set(chunks.map { $0.parameters.int("sink") }), [3])
        // Chunk k (from 0) starts at frame 12k − 3: chunk 401 at 300.56 s is the first after the switch.
        XCTAssertEqual(chunks.last?.parameters.int("prompt_from"), 401)
        XCTAssertEqual(chunks[400].parameters.int("prompt_from"), 0)
        let plan = try Planner(device: DeviceProfile(budgetBytes: 16_000_000_000)).plan(built)
        XCTAssertEqual(plan.loadCounts["wan/denoiser"], 1)
        XCTAssertEqual(plan.steps.filter { $0.action == .run && $0.kind == .denoise }.count, 801)
        // `kinora plan` shows the 801 chunk steps as one line.
        let lines = plan.rendered().split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("long/chunk-") }.count, 1, plan.rendered())
        let collapsed = "run    denoise long/chunk-1 … long/chunk-801 (801 chunks, steps "
        XCTAssertTrue(lines.contains { $0.contains(collapsed) },
                      plan.rendered())
        // The DiT's 2.84 GB of weights alone are more than 2 GB: refused before anything runs, naming the first chunk.
        XCTAssertThrowsError(try Planner(device: DeviceProfile(budgetBytes: 2_000_000_000)).plan(built)) { error in
            guard case PlanError.doesNotFit(let stage, let model, _, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual([stage, model], ["long/chunk-1", "wan/denoiser"])
        }
    }
}
