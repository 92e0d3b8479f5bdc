import Foundation
import XCTest

@testable import KinoraPipeline

final class RenderReportTests: XCTestCase {
    private let report = RenderReport(file: "demo.yaml", mode: .final, budgetBytes: 8 << 30, seconds: 12,
                                      estimatedSeconds: 10, stages: [
        .init(stage: "a/denoise", kind: .denoise, model: "hero/denoiser", tactic: Tactic(guidance: .batched),
              seconds: 9, batchSize: 2, predictedPeakBytes: 3 << 30, measuredPeakBytes: 2 << 30, seed: 42,
              cacheHit: false, key: "k1"),
        .init(stage: "a/encode-text", kind: .encodeText, model: "hero/text_encoder", tactic: Tactic(), seconds: 0,
              batchSize: 1, predictedPeakBytes: 1 << 30, measuredPeakBytes: nil, seed: nil, cacheHit: true, key: "k2"),
    ])

    func testSummaryNamesTotalsPeaksAndSeeds() {
        XCTAssertEqual(report.summary(), """
            Rendered demo.yaml (final) in 12 s (estimated 10 s): 2 stages, 1 from cache
            Device peak: predicted 3.00 GiB, measured 2.00 GiB of a 8.00 GiB budget
              a/denoise  9.0 s (batch of 2)  peak 3.00 GiB predicted, 2.00 GiB measured  seed 42
            """)
    }

    func testAStageThatMakesFramesShowsFramesASecond() throws {
        var report = self.report
        report.stages.append(.init(stage: "a/decode", kind: .decode, model: "clip/decoder", tactic: Tactic(),
                                   seconds: 4, batchSize: 1, predictedPeakBytes: 1 << 20, measuredPeakBytes: nil,
                                   seed: nil, cacheHit: false, key: "k3", frames: 81))
        XCTAssertEqual(report.summary().split(separator: "\n").last,
                       "  a/decode  4.0 s  81 frames, 20.2 frames/s  peak 1.00 MiB predicted")
        XCTAssertNil(report.stages[0].framesPerSecond, "a denoise makes no frames")
        let decoded = try JSONDecoder().decode(RenderReport.self, from: try report.json())
        XCTAssertEqual(decoded.stages.last?.frames, 81)
    }

    func testWritesJSONAndTextThatReadBack() throws {
        let folder = try TestSupport.temporaryFolder(self)
        try report.write(to: folder)
        let decoded = try JSONDecoder().decode(RenderReport.self,
                                               from: Data(contentsOf: folder.appendingPathComponent("report.json")))
        XCTAssertEqual(decoded, report)
        let text = try String(contentsOf: folder.appendingPathComponent("report.txt"), encoding: .utf8)
        XCTAssertEqual(text, report.summary() + "\n")
    }

    func testADiscardedEntryIsCountedAndNamedInTheSummaryAndJSON() throws {
        var report = self.report
        report.stages[0].cacheDiscarded = "latents.kf32 holds 10 bytes,\nits manifest.json says 64"
        XCTAssertEqual(report.cacheDiscards, 1)
        XCTAssertEqual(report.summary(), """
            Rendered demo.yaml (final) in 12 s (estimated 10 s): 2 stages, 1 from cache, 1 damaged cache entry replaced
            Device peak: predicted 3.00 GiB, measured 2.00 GiB of a 8.00 GiB budget
              a/denoise  9.0 s (batch of 2)  peak 3.00 GiB predicted, 2.00 GiB measured  seed 42  (damaged cache \
            entry replaced: latents.kf32 holds 10 bytes, its manifest.json says 64)
            """)
        let decoded = try JSONDecoder().decode(RenderReport.self, from: try report.json())
        XCTAssertEqual(decoded, report)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: try self.report.json()) as? [String: Any])
        let stages = try XCTUnwrap(json["stages"] as? [[String: Any]])
        XCTAssertNil(stages[0]["cacheDiscarded"], "absent when nothing was discarded")
    }
}
