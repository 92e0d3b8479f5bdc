import Foundation
import KinoraMedia
import KinoraTestSupport
import XCTest

/// `motion: stream` shots rendered as a user renders them, by the tiny causal Wan (tiny-wan21-causal) on lavapipe:
/// chunk by chunk within their planned peaks, with progress in frames; resumed after a kill mid-stream at the last
/// finished chunk, to the same bits; and after an edit late in the prompt schedule, only the chunks after it.
final class RenderStreamTests: XCTestCase {
    /// Four seconds of stream (17 latent frames: 6 chunks of 3, 69 frames at 16 fps) that switches its prompt at
    /// 2.5 s, from chunk 5 (which starts at frame 45, 2.81 s); played at 8 fps.
    static let workflow = """
        output: {file: stream.mp4, size: 64x64, fps: 8}
        models:
          fox: {catalog: tiny-wan21-causal}
        shots:
          - id: run
            prompt: a fox runs through snow
            seed: 5
            duration: 4
            motion: stream
            final: {model: fox}
            prompts:
              - {at: 2.5, prompt: the fox reaches a frozen lake}
        """

    static let chunks = (1...6).map { "run/chunk-\($0)" }

    /// A temporary folder with the workflow; returns it, a cache folder and the output.
    private func workspace() throws -> (workflow: URL, cache: URL, output: URL) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let workflow = folder.appending(path: "stream.yaml")
        try Data(Self.workflow.utf8).write(to: workflow)
        return (workflow, folder.appending(path: "cache"), folder.appending(path: "stream.mp4"))
    }

    private func render(_ workflow: URL, cache: URL, _ extra: [String] = []) throws -> KinoraCommand.Outcome {
        try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", "none"] + extra)
    }

    /// The cut's frames as the render joined them (the lossless `video/encode` result its report keys), before the
    /// h264 encode: what "the same bits" is checked on (libx264's output was seen to vary between runs of the same
    /// input on a loaded machine, whatever the stream did).
    private func cutFrames(_ output: URL, cache: URL) throws -> [[UInt8]] {
        let stage = try XCTUnwrap(try report(output).first { $0["stage"] as? String == "video/encode" })
        let key = try XCTUnwrap(stage["key"] as? String)
        let reader = try VideoReader(url: cache.appending(path: "entries/\(key)/video.mkv"))
        var frames: [[UInt8]] = []
        while let frame = try reader.nextFrame() { frames.append(frame.rgb8) }
        return frames
    }

    /// Each chunk's cached latents, by stage, as the last render's report keys them.
    private func chunkLatents(_ output: URL, cache: URL) throws -> [String: Data] {
        var latents: [String: Data] = [:]
        for stage in try report(output) {
            guard let id = stage["stage"] as? String, Self.chunks.contains(id), let key = stage["key"] as? String
            else { continue }
            latents[id] = try Data(contentsOf: cache.appending(path: "entries/\(key)/latents.kf32"))
        }
        return latents
    }

    /// ffprobe's frame count of the first video stream of `url`.
    private func frameCount(_ url: URL) throws -> Int? {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        probe.arguments = ["-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                           "stream=nb_read_frames", "-of", "csv=p=0", url.path]
        let pipe = Pipe()
        probe.standardOutput = pipe
        try probe.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        probe.waitUntilExit()
        return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func testAStreamRendersChunkByChunkWithinItsPlannedPeaksWithProgressInFrames() throws {
        let (workflow, cache, output) = try workspace()
        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        for line in ["run    denoise run/chunk-1 … run/chunk-6 (6 chunks, steps 6–11) on fox/denoiser [batch 1]  peak ",
                     "run    encodeText run/encode-text-2 on fox/text_encoder [batch 1]  peak ",
                     "run    decode run/decode on fox/decoder [batch 1]  peak ", "run    conform run/conform (host)"] {
            XCTAssertTrue(plan.output.contains(line), plan.output)
        }
        let started = Date()
        let rendered = try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", "json"])
        print(String(format: "RenderStreamTests: 6 chunks, 69 frames of 64x64 rendered in %.1f s",
                     Date().timeIntervalSince(started)))
        XCTAssertEqual(rendered.status, 0, rendered.error)
        // Each chunk reports its video frames as its passes go: 9 for the first, 12 for the others.
        var steps: [String: [Int]] = [:]
        for line in rendered.output.split(separator: "\n") {
            guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  event["event"] as? String == "stage_step", let stage = event["stage"] as? String,
                  Self.chunks.contains(stage), let step = event["step"] as? Int, let total = event["steps"] as? Int
            else { continue }
            XCTAssertEqual(total, stage == "run/chunk-1" ? 9 : 12, stage)
            steps[stage, default: []].append(step)
        }
        XCTAssertEqual(steps.keys.sorted(), Self.chunks)
        for (stage, done) in steps {
            XCTAssertEqual(done, done.sorted(), stage)
            XCTAssertEqual(done.count, 5, "\(stage): four denoising passes and the cache pass")
            XCTAssertEqual(done.last, stage == "run/chunk-1" ? 9 : 12, stage)
        }
        let stages = try report(output)
        for stage in stages where stage["model"] != nil {
            let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            XCTAssertLessThanOrEqual(measured, predicted, "\(stage["stage"] ?? "?")")
        }
        let decode = try XCTUnwrap(stages.first { $0["stage"] as? String == "run/decode" })
        let clip = cache.appending(path: "entries/\(try XCTUnwrap(decode["key"] as? String))/clip.mkv")
        XCTAssertEqual(try frameCount(clip), 69, "17 latent frames")
        XCTAssertEqual(try frameCount(output), 32, "4 s at 8 fps")

        let again = try render(workflow, cache: cache)
        XCTAssertEqual(again.status, 0, again.error)
        XCTAssertEqual(try ranStages(output), [], "every stage comes from the cache")
    }

    func testAStreamKilledMidwayResumesAtItsLastFinishedChunkAndMakesTheSameBits() throws {
        let (workflow, cache, output) = try workspace()
        let whole = try render(workflow, cache: cache.appending(path: "whole"))
        XCTAssertEqual(whole.status, 0, whole.error)
        let expected = try cutFrames(output, cache: cache.appending(path: "whole"))
        let expectedLatents = try chunkLatents(output, cache: cache.appending(path: "whole"))
        XCTAssertEqual(expectedLatents.count, 6)
        try FileManager.default.removeItem(at: output)

        let (finished, killed) = try renderKilled(
            ["render", workflow.path, "--cache-dir", cache.path, "--progress", "json"]) { $0 == "run/chunk-2" }
        XCTAssertTrue(killed, "killed before it finished")
        XCTAssertTrue(finished.contains("run/chunk-2"), "\(finished)")
        XCTAssertFalse(finished.contains("run/chunk-6"), "killed mid-stream: \(finished)")

        let resumed = try render(workflow, cache: cache)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        let ran = try ranStages(output)
        XCTAssertTrue(ran.isDisjoint(with: ["run/encode-text", "run/chunk-1", "run/chunk-2"]), "\(ran)")
        XCTAssertTrue(ran.isSuperset(of: ["run/chunk-6", "run/decode", "output/mux"]), "\(ran)")
        XCTAssertEqual(try chunkLatents(output, cache: cache), expectedLatents, "every chunk to the bit")
        XCTAssertEqual(try cutFrames(output, cache: cache), expected, "the cut to the bit")
    }

    func testAnEditLateInThePromptScheduleReRendersOnlyTheChunksAfterIt() throws {
        let (workflow, cache, output) = try workspace()
        let first = try render(workflow, cache: cache)
        XCTAssertEqual(first.status, 0, first.error)
        let before = try chunkLatents(output, cache: cache)

        try Data(Self.workflow.replacingOccurrences(of: "a frozen lake", with: "a river").utf8).write(to: workflow)
        let edited = try render(workflow, cache: cache)
        XCTAssertEqual(edited.status, 0, edited.error)
        XCTAssertEqual(try ranStages(output), ["run/encode-text-2", "run/chunk-5", "run/chunk-6", "run/decode",
                                               "run/conform", "video/encode", "output/mux"])
        let after = try chunkLatents(output, cache: cache)
        XCTAssertEqual(Self.chunks.map { before[$0] == after[$0] }, [true, true, true, true, false, false])
        // Chunk 5 was made by a loop rebuilt from the four cached chunks: the same bits as a render from nothing.
        let fresh = output.deletingLastPathComponent().appending(path: "fresh.mp4")
        let fromNothing = cache.deletingLastPathComponent().appending(path: "from-nothing")
        let scratch = try render(workflow, cache: fromNothing, ["--output", fresh.path])
        XCTAssertEqual(scratch.status, 0, scratch.error)
        XCTAssertEqual(try cutFrames(fresh, cache: fromNothing), try cutFrames(output, cache: cache))
    }

    /// A stream from a keyframe (the tiny SD 1.5's picture, encoded by the causal Wan's VAE, which takes no keyframe
    /// as a clip's start) in CausVid's schedule, chunks of 2 and two prompt switches: the chunks after the first
    /// switch, removed from the cache as a kill would have left it, are made again to the same bits.
    func testAStreamFromAKeyframeResumesAcrossItsPromptSwitchesToTheSameBits() throws {
        let (workflow, cache, output) = try workspace()
        let text = Self.workflow
            .replacingOccurrences(of: "  fox: {catalog: tiny-wan21-causal}",
                                  with: "  fox: {catalog: tiny-wan21-causal}\n  hero: {catalog: tiny-sd15}")
            .replacingOccurrences(of: "    duration: 4\n", with: "    duration: 2\n")
            .replacingOccurrences(of: "    final: {model: fox}",
                                  with: "    keyframe: {model: hero, steps: 1}\n"
                                      + "    final: {model: fox, chunk_frames: 2, schedule: causvid}")
            .replacingOccurrences(of: "{at: 2.5, prompt: the fox reaches a frozen lake}",
                                  with: "{at: 0.8, prompt: a frozen lake}\n      - {at: 1.5, prompt: the ice}")
        try Data(text.utf8).write(to: workflow)
        let first = try render(workflow, cache: cache)
        XCTAssertEqual(first.status, 0, first.error)
        let expected = try cutFrames(output, cache: cache)
        let stages = try report(output)
        let chunks = (1...4).map { "run/chunk-\($0)" }
        XCTAssertEqual(Set(stages.compactMap { $0["stage"] as? String }.filter { $0.hasPrefix("run/chunk-") }),
                       Set(chunks), "1 keyframe latent frame and 8 more in chunks of 2")
        // The chunks start at 0.06, 0.56, 1.06 and 1.56 s: the switches take effect at chunks 3 and 4.
        for stage in stages {
            guard let id = stage["stage"] as? String, let key = stage["key"] as? String,
                  ["run/chunk-3", "run/chunk-4", "run/decode", "run/conform", "video/encode", "output/mux"]
                    .contains(id) else { continue }
            try FileManager.default.removeItem(at: cache.appending(path: "entries/\(key)"))
        }
        let resumed = try render(workflow, cache: cache)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertEqual(try ranStages(output), ["run/chunk-3", "run/chunk-4", "run/decode", "run/conform",
                                               "video/encode", "output/mux"])
        XCTAssertEqual(try cutFrames(output, cache: cache), expected, "the cut to the bit")
    }
}
