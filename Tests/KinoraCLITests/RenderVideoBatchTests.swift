import Foundation
import KinoraTestSupport
import XCTest

/// `motion: video` shots of one size and settings rendered as a user renders them, by the tiny Wan 2.1 (tiny-wan21)
/// on lavapipe: `kinora plan` shows them as one denoise step of a batch, the render denoises them together with
/// progress for each, and each shot's cached latents are bit for bit those of the shot rendered alone (keys
/// unchanged), so an edit to one shot re-renders only that shot, alone. A shot of another size is never in the batch.
final class RenderVideoBatchTests: XCTestCase {
    /// Shots a and b differ only in their prompts and seeds; c is 96x64.
    static let workflow = """
        output: {file: clips.mp4, size: 64x64, fps: 8}
        models:
          t2v: {catalog: tiny-wan21}
        shots:
          - {id: a, prompt: waves, seed: 3, duration: 0.5, motion: video, final: {model: t2v, steps: 2, cfg: 3}}
          - {id: b, prompt: a kite, seed: 4, duration: 0.5, motion: video, final: {model: t2v, steps: 2, cfg: 3}}
          - id: c
            prompt: snow on a roof
            seed: 5
            duration: 0.5
            motion: video
            final: {model: t2v, steps: 2, cfg: 3, size: 96x64}
        """

    /// A temporary folder with `text` as the workflow; returns it, a cache folder and the output.
    private func workspace(_ text: String) throws -> (workflow: URL, cache: URL, output: URL) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-clips-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let workflow = folder.appending(path: "clips.yaml")
        try Data(text.utf8).write(to: workflow)
        return (workflow, folder.appending(path: "cache"), folder.appending(path: "clips.mp4"))
    }

    private func render(_ workflow: URL, cache: URL, progress: String = "none") throws -> KinoraCommand.Outcome {
        try KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--progress", progress])
    }

    /// Each denoise stage's cache key and cached latents file, as the last render's report keys them.
    private func latents(_ output: URL, cache: URL) throws -> [String: (key: String, data: Data)] {
        var latents: [String: (key: String, data: Data)] = [:]
        for stage in try report(output) {
            guard let id = stage["stage"] as? String, id.hasSuffix("/denoise"), let key = stage["key"] as? String
            else { continue }
            latents[id] = (key, try Data(contentsOf: cache.appending(path: "entries/\(key)/latents.kf32")))
        }
        return latents
    }

    /// The batch size the report gives each denoise stage that ran.
    private func batchSizes(_ output: URL) throws -> [String: Int] {
        var sizes: [String: Int] = [:]
        for stage in try report(output) where stage["cacheHit"] as? Bool == false {
            guard let id = stage["stage"] as? String, id.hasSuffix("/denoise") else { continue }
            sizes[id] = stage["batchSize"] as? Int
        }
        return sizes
    }

    /// The workflow with only `shot`'s entry (a and b are one line each).
    private static func only(_ shot: String, in text: String) -> String {
        let lines = text.components(separatedBy: "\n")
        let header = lines.prefix { !$0.hasPrefix("  - ") }
        return (header + lines.filter { $0.hasPrefix("  - {id: \(shot),") }).joined(separator: "\n")
    }

    func testSameSizeShotsDenoiseAsOneBatchEachWithTheLatentsItGetsAlone() throws {
        let (workflow, cache, output) = try workspace(Self.workflow)
        let plan = try KinoraCommand.run(["plan", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(plan.status, 0, plan.error)
        for line in ["run    denoise a/denoise, b/denoise on t2v/denoiser [batch 2, CFG sequential]  peak ",
                     "run    denoise c/denoise on t2v/denoiser [batch 1, CFG sequential]  peak "] {
            XCTAssertTrue(plan.output.contains(line), plan.output)
        }

        let batched = try render(workflow, cache: cache, progress: "json")
        XCTAssertEqual(batched.status, 0, batched.error)
        XCTAssertEqual(try batchSizes(output), ["a/denoise": 2, "b/denoise": 2, "c/denoise": 1])
        var steps: [String: [Int]] = [:]
        for line in batched.output.split(separator: "\n") {
            guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  event["event"] as? String == "stage_step", let stage = event["stage"] as? String,
                  stage.hasSuffix("/denoise"), let step = event["step"] as? Int else { continue }
            steps[stage, default: []].append(step)
        }
        XCTAssertEqual(steps, ["a/denoise": [1, 2], "b/denoise": [1, 2], "c/denoise": [1, 2]], "each stage's steps")
        let together = try latents(output, cache: cache)

        for shot in ["a", "b"] {
            let (alone, aloneCache, aloneOutput) = try workspace(Self.only(shot, in: Self.workflow))
            let rendered = try render(alone, cache: aloneCache)
            XCTAssertEqual(rendered.status, 0, rendered.error)
            XCTAssertEqual(try batchSizes(aloneOutput), ["\(shot)/denoise": 1])
            let single = try XCTUnwrap(try latents(aloneOutput, cache: aloneCache)["\(shot)/denoise"])
            let batch = try XCTUnwrap(together["\(shot)/denoise"])
            XCTAssertEqual(single.key, batch.key, "\(shot): the same cache key alone and in the batch")
            XCTAssertEqual(single.data, batch.data, "\(shot): the same latents, bit for bit, alone and in the batch")
        }
        XCTAssertNotEqual(together["a/denoise"]?.data, together["b/denoise"]?.data)

        var text = try String(contentsOf: workflow, encoding: .utf8)
        text = text.replacingOccurrences(of: "a kite", with: "a blue kite")
        try Data(text.utf8).write(to: workflow)
        let edited = try render(workflow, cache: cache)
        XCTAssertEqual(edited.status, 0, edited.error)
        XCTAssertEqual(try ranStages(output), ["b/encode-text", "b/denoise", "b/decode", "b/conform", "video/encode",
                                               "output/mux"])
        XCTAssertEqual(try batchSizes(output), ["b/denoise": 1])
        XCTAssertEqual(try latents(output, cache: cache)["a/denoise"]?.data, together["a/denoise"]?.data)
    }
}
