import Foundation
import KinoraMedia
import KinoraTestSupport
import XCTest

/// Video models given as a single transformer file in `diffusion_models/`, their other parts from a base diffusers
/// folder: a stream by a causal model's training checkpoint (as Self-Forcing's `self_forcing_dmd.pt`: the tiny Wan
/// 2.1's transformer as the EMA generator beside random weights as the plain one, tiny-wan21's folder its base) and a
/// clip by ComfyUI's file of the same weights render the same latents and cut, to the bit, as the folder; a stream on
/// a clip model, or a checkpoint whose base is missing, is refused naming file, line and field with nothing written.
final class RenderTransformerFileTests: XCTestCase {
    /// Two seconds of stream (9 latent frames: 3 chunks of 3) that switches its prompt at 1 s, by `fox`.
    static let workflow = """
        output: {file: stream.mp4, size: 64x64, fps: 8}
        models:
          fox: {path: tiny_self_forcing.pt, family: tiny-wan21-causal}
        shots:
          - id: run
            prompt: a fox runs through snow
            seed: 5
            duration: 2
            motion: stream
            final: {model: fox}
            prompts:
              - {at: 1.0, prompt: the fox reaches a frozen lake}
        """

    static let chunks = (1...3).map { "run/chunk-\($0)" }

    /// A folder with the workflow `text`, a models folder holding `diffusion_models/tiny_self_forcing.pt` and
    /// `diffusion_models/tiny_wan21.safetensors`, and where the cache and the output go.
    private func workspace(_ text: String = workflow) throws -> (workflow: URL, models: URL, cache: URL, output: URL) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-causal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let models = folder.appending(path: "models")
        let checkpoint = models.appending(path: "diffusion_models/tiny_self_forcing.pt")
        try FileManager.default.createDirectory(at: checkpoint.deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "Fixtures/wan-pipeline/t2v/transformer")
        try WanTrainingCheckpoint.write(transformer: fixture, to: checkpoint)
        try WanComfyFile.write(transformer: fixture,
                               to: models.appending(path: "diffusion_models/tiny_wan21.safetensors"))
        let workflow = folder.appending(path: "stream.yaml")
        try Data(text.utf8).write(to: workflow)
        return (workflow, models, folder.appending(path: "cache"), folder.appending(path: "stream.mp4"))
    }

    private func render(_ workflow: URL, models: URL, cache: URL, _ extra: [String] = []) throws
        -> KinoraCommand.Outcome {
        try KinoraCommand.run(["render", workflow.path, "--models-dir", models.path, "--cache-dir", cache.path,
                               "--progress", "none"] + extra)
    }

    /// The cached latents of `stages` and the cut's frames (before the h264 encode), as the last render's report
    /// keys them.
    private func results(_ output: URL, cache: URL, stages: [String] = chunks) throws
        -> (latents: [String: Data], cut: [[UInt8]]) {
        var latents: [String: Data] = [:]
        var cut: [[UInt8]] = []
        for stage in try report(output) {
            guard let id = stage["stage"] as? String, let key = stage["key"] as? String else { continue }
            if stages.contains(id) {
                latents[id] = try Data(contentsOf: cache.appending(path: "entries/\(key)/latents.kf32"))
            } else if id == "video/encode" {
                let reader = try VideoReader(url: cache.appending(path: "entries/\(key)/video.mkv"))
                while let frame = try reader.nextFrame() { cut.append(frame.rgb8) }
            }
        }
        return (latents, cut)
    }

    func testAStreamOverTheCheckpointAndItsBaseRendersTheFoldersChunksToTheBit() throws {
        let (workflow, models, cache, output) = try workspace()
        let checkpoint = try render(workflow, models: models, cache: cache)
        XCTAssertEqual(checkpoint.status, 0, checkpoint.error)
        let fromCheckpoint = try results(output, cache: cache)
        XCTAssertEqual(fromCheckpoint.latents.count, 3)
        XCTAssertEqual(fromCheckpoint.cut.count, 16, "2 s at 8 fps")
        for stage in try report(output) where stage["model"] != nil {
            let predicted = try XCTUnwrap(stage["predictedPeakBytes"] as? UInt64)
            let measured = try XCTUnwrap(stage["measuredPeakBytes"] as? UInt64, "\(stage)")
            XCTAssertLessThanOrEqual(measured, predicted, "\(stage["stage"] ?? "?")")
        }

        // The folder of the same weights, in the same cache: another model, so every chunk is made again. (By path:
        // the catalog name would find the checkpoint in the models folder first.)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "Fixtures/wan-pipeline/t2v")
        let folder = Self.workflow.replacingOccurrences(of: "{path: tiny_self_forcing.pt, family: tiny-wan21-causal}",
                                                        with: "{path: '\(fixture.path)', family: tiny-wan21-causal}")
        try Data(folder.utf8).write(to: workflow)
        let again = try render(workflow, models: models, cache: cache)
        XCTAssertEqual(again.status, 0, again.error)
        let ran = try ranStages(output)
        XCTAssertTrue(ran.isSuperset(of: Self.chunks), "\(ran)")
        let fromFolder = try results(output, cache: cache)
        XCTAssertEqual(fromCheckpoint.latents, fromFolder.latents, "every chunk to the bit")
        XCTAssertEqual(fromCheckpoint.cut, fromFolder.cut, "the cut to the bit")
    }

    /// A clip by ComfyUI's single file of tiny-wan21's transformer, its other parts from the family's own folder.
    func testAClipOverComfyUIsTransformerFileAndItsBaseRendersTheFoldersClipToTheBit() throws {
        let clip = """
            output: {file: stream.mp4, size: 64x64, fps: 8}
            models:
              waves: {path: tiny_wan21.safetensors, family: tiny-wan21}
            shots:
              - id: waves
                prompt: waves on a beach
                seed: 9
                duration: 1
                motion: video
                final: {model: waves, steps: 2, cfg: 3}
            """
        let (workflow, models, cache, output) = try workspace(clip)
        let file = try render(workflow, models: models, cache: cache)
        XCTAssertEqual(file.status, 0, file.error)
        let fromFile = try results(output, cache: cache, stages: ["waves/denoise"])
        XCTAssertEqual(fromFile.latents.count, 1)
        try Data(clip.replacingOccurrences(of: "{path: tiny_wan21.safetensors, family: tiny-wan21}",
                                           with: "{catalog: tiny-wan21}").utf8).write(to: workflow)
        let again = try render(workflow, models: models, cache: cache)
        XCTAssertEqual(again.status, 0, again.error)
        XCTAssertTrue(try ranStages(output).contains("waves/denoise"), "another model")
        let fromFolder = try results(output, cache: cache, stages: ["waves/denoise"])
        XCTAssertEqual(fromFile.latents, fromFolder.latents, "the clip's latents to the bit")
        XCTAssertEqual(fromFile.cut, fromFolder.cut, "the cut to the bit")
    }

    /// `kinora video --autoregressive --model <family>` on a family whose weights are found as a single `.pt` takes
    /// the other parts from the family's base, as a workflow does: the same stream as the folder, frame for frame.
    func testKinoraVideoRunsACatalogCheckpointWithItsBasesParts() throws {
        let (_, models, _, _) = try workspace()
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-causal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        func stream(_ model: [String], _ name: String) throws -> [[UInt8]] {
            let clip = folder.appending(path: name)
            let outcome = try KinoraCommand.run(["video", "--autoregressive"] + model + [
                "--prompt", "a fox in the snow", "--size", "48x32", "--frames", "9", "--codec", "ffv1",
                "-o", clip.path,
            ])
            XCTAssertEqual(outcome.status, 0, outcome.error)
            let reader = try VideoReader(url: clip)
            var frames: [[UInt8]] = []
            while let frame = try reader.nextFrame() { frames.append(frame.rgb8) }
            return frames
        }
        let fromCheckpoint = try stream(["--model", "tiny-wan21-causal", "--models-dir", models.path], "pt.mkv")
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "Fixtures/wan-pipeline/t2v")
        let fromFolder = try stream(["--model", fixture.path], "folder.mkv")
        XCTAssertEqual(fromCheckpoint.count, 9)
        XCTAssertEqual(fromCheckpoint, fromFolder, "the checkpoint over its base streams the folder's frames")
    }

    /// Refusals come before anything runs: no output, no cache entry.
    func testAStreamOnAClipModelOrACheckpointWithoutItsBaseIsRefusedWithNothingWritten() throws {
        let cases = [
            ("{path: tiny_self_forcing.pt, family: tiny-wan21-causal}", "{catalog: tiny-wan21}",
             ":10:", "shots[0].final.model: 'fox' is a tiny-wan21 model, a clip model"),
            ("family: tiny-wan21-causal}", "family: tiny-wan21-causal, base: Wan2.1-T2V-1.3B-Diffusers}",
             ":3:", "models.fox.base: 'fox' is a single transformer file; its VAE, text encoder, tokenizer and "
                + "configuration come from 'Wan2.1-T2V-1.3B-Diffusers', which was not found; looked in:"),
        ]
        for (old, new, line, message) in cases {
            let text = Self.workflow.replacingOccurrences(of: old, with: new)
            let (workflow, models, cache, output) = try workspace(text)
            let refused = try render(workflow, models: models, cache: cache)
            XCTAssertNotEqual(refused.status, 0, new)
            XCTAssertTrue(refused.error.contains(workflow.path + line), refused.error)
            XCTAssertTrue(refused.error.contains(message), refused.error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), new)
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: cache.appending(path: "entries").path))
            XCTAssertEqual(entries ?? [], [], new)
        }
    }
}
