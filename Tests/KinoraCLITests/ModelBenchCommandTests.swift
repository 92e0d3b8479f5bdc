import Foundation
import KinoraTestSupport
import XCTest

/// `kinora bench model` for the Wan video models, over the catalog's tiny Wan families (their committed weights):
/// the plan stage by stage, `--run` with every stage's allocator peak equal to the planned one, and the refusals
/// (frames and sizes the models cannot take, a budget the plan does not fit) before any stage runs.
final class ModelBenchCommandTests: XCTestCase {
    private func json(_ outcome: KinoraCommand.Outcome) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8))
        return try XCTUnwrap(object as? [String: Any], outcome.output)
    }

    func testTinyWan22IsPlannedStageByStageAndRunsAtItsPlannedPeaks() throws {
        let outcome = try KinoraCommand.run([
            "bench", "model", "tiny-wan22", "--vram", "1GB", "--prompt-tokens", "16", "--run", "--json",
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let report = try json(outcome)
        let plan = try XCTUnwrap(report["plan"] as? [String: Any])
        let stages = try XCTUnwrap(plan["stages"] as? [[String: Any]])
        XCTAssertEqual(
            stages.compactMap { $0["stage"] as? String }, ["text encoding", "keyframe encode", "denoise", "decode"])
        XCTAssertEqual(plan["latentShape"] as? [Int], [1, 8, 3, 4, 4])
        XCTAssertEqual(report["fitsBudget"] as? Bool, true)
        let measurements = try XCTUnwrap(report["measurements"] as? [[String: Any]])
        XCTAssertEqual(measurements.count, 4)
        for measurement in measurements {
            let measured = try XCTUnwrap(measurement["measuredPeakBytes"] as? Int)
            XCTAssertGreaterThan(measured, 0)
            XCTAssertEqual(measured, measurement["predictedPeakBytes"] as? Int, "\(measurement["stage"] ?? "?")")
        }
        XCTAssertNotNil(report["secondsPerStep"] as? Double)
        XCTAssertNotNil(report["secondsPerLatentFrame"] as? Double)
        XCTAssertEqual(
            report["peakBytes"] as? Int, stages.compactMap { $0["peakBytes"] as? Int }.max(), "the largest stage's")
    }

    /// The autoregressive tiny Wan: every tactic planned, the chosen one run until its KV cache is at its largest,
    /// where the allocator peaks at the planned bytes.
    func testTinyWan21AutoregressiveStreamRunsAtItsPlannedPeak() throws {
        let outcome = try KinoraCommand.run([
            "bench", "model", "tiny-wan21-ar", "--size", "48x32", "--seconds", "4", "--window", "9", "--sink", "3",
            "--run", "--json",
        ])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let report = try json(outcome)
        // 4 s at 16 fps: 64 frames, 17 latent frames, whole chunks of 3: 18 latent frames, 69 frames.
        XCTAssertEqual(report["videoFrames"] as? Int, 69)
        let tactics = try XCTUnwrap(report["tactics"] as? [[String: Any]])
        // Every frame cached, windows of 21, 12, 6 and 9, each with an f32 and an f16 cache.
        XCTAssertEqual(tactics.count, 10)
        let measurement = try XCTUnwrap(report["measurement"] as? [String: Any])
        let measured = try XCTUnwrap(measurement["measuredPeakBytes"] as? Int)
        XCTAssertGreaterThan(measured, 0)
        XCTAssertEqual(measured, measurement["predictedPeakBytes"] as? Int)
        // The window keeps 6 frames between chunks: the run goes until the cache holds them.
        XCTAssertEqual(measurement["chunks"] as? Int, 3)
        XCTAssertGreaterThan(try XCTUnwrap(measurement["framesPerSecond"] as? Double), 0)

        let refused = try KinoraCommand.run(["bench", "model", "tiny-wan21-ar", "--window", "30"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("longer than the 21 latent frames"), refused.error)
    }

    /// Stable Audio: the full-size model planned over shape-only weights (its whole-window decode sets the peak) in
    /// the random weights' F16 by default or in --precision, the tiny folder run with its real-time factor.
    func testStableAudioIsPlannedAndTheTinyFolderRuns() throws {
        let full = try KinoraCommand.run(["bench", "model", "sao"])
        XCTAssertEqual(full.status, 0, full.error)
        XCTAssertTrue(full.output.contains("1024 latent frames"), full.output)
        XCTAssertTrue(full.output.contains("f16 DiT and f16 VAE activations"), full.output)
        XCTAssertTrue(full.output.contains("at the decode stage"), full.output)
        let tiny = try KinoraCommand.run(["bench", "model", "tiny-sao", "--run", "--steps", "2", "--precision", "bf16"])
        XCTAssertEqual(tiny.status, 0, tiny.error)
        XCTAssertTrue(tiny.output.contains("bf16 DiT and bf16 VAE activations"), tiny.output)
        XCTAssertTrue(tiny.output.contains("real-time factor"), tiny.output)
        for (precision, peak) in [([String](), "2.84 GiB"), (["--precision", "fp32"], "3.23 GiB")] {
            let refused = try KinoraCommand.run(["bench", "model", "sao", "--run"] + precision)
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.error.contains("Stable Audio Open 1.0's planned peak \(peak) is more than the "
                                                 + "device's budget 2.00 GiB"), refused.error)
        }
    }

    /// MusicGen: musicgen-small planned in its random weights' F16 by default and in --precision, and the tiny
    /// folder run in bf16 at its planned peak.
    func testMusicGenIsPlannedAndRunInThePrecisionAsked() throws {
        for (precision, type) in [([String](), "f16"), (["--precision", "fp32"], "f32")] {
            let small = try KinoraCommand.run(["bench", "model", "musicgen-small", "--seconds", "10"] + precision)
            XCTAssertEqual(small.status, 0, small.error)
            XCTAssertTrue(small.output.contains("activations T5 \(type), decoder \(type), EnCodec \(type)"),
                          small.output)
        }
        let tiny = try KinoraCommand.run([
            "bench", "model", "tiny-musicgen", "--seconds", "0.2", "--run", "--precision", "bf16",
        ])
        XCTAssertEqual(tiny.status, 0, tiny.error)
        XCTAssertTrue(tiny.output.contains("activations T5 bf16, decoder bf16, EnCodec bf16"), tiny.output)
        let peaks = /allocator peak (\d+) bytes above what was live; planned (\d+)/
        let measured = try XCTUnwrap(tiny.output.firstMatch(of: peaks), tiny.output)
        XCTAssertEqual(measured.1, measured.2, "the run's peak is the plan's")
    }

    /// Stable Audio Open Small: 256 latent frames without guidance, planned; seconds past its window refused.
    func testStableAudioOpenSmallIsPlannedAndItsWindowHolds() throws {
        let small = try KinoraCommand.run(["bench", "model", "sao-small", "--seconds", "10"])
        XCTAssertEqual(small.status, 0, small.error)
        for expected in [
            "stable-audio-open-small", "256 latent frames", "10.00 s asked", "no guidance (batch 1)",
            "text encoding", "denoise", "decode", "whole plan: peak",
        ] {
            XCTAssertTrue(small.output.contains(expected), "\(expected) in \(small.output)")
        }
        let tooLong = try KinoraCommand.run(["bench", "model", "sao-small", "--seconds", "12"])
        XCTAssertNotEqual(tooLong.status, 0)
        XCTAssertTrue(
            tooLong.error.contains("--seconds 12.00 is longer than Stable Audio Open Small's window of 11.89 s"),
            tooLong.error)
    }

    func testTextReportNamesEveryStageItsTacticAndTheWholePlansPeak() throws {
        let outcome = try KinoraCommand.run(["bench", "model", "tiny-wan21", "--vram", "1GB", "--prompt-tokens", "8"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        for expected in [
            "at 64×64, 9 frames", "text encoding", "UMT5 layers streamed one at a time", "denoise",
            "DiT resident, f32 activations, guidance sequential", "decode", "feature cache carried; whole frames", "whole plan: peak",
            "fits the budget of 1.00 GiB",
        ] {
            XCTAssertTrue(outcome.output.contains(expected), "\(expected) in \(outcome.output)")
        }
    }

    func testFramesAndSizesTheModelCannotTakeAreRefusedNamingTheValue() throws {
        for (arguments, expected) in [
            (["tiny-wan21", "--frames", "10"], "10 frames is not of the form 4k + 1"),
            (["tiny-wan22", "--size", "48x32"], "size 48x32 is not a positive multiple of 32"),
            (["wan21-1.3b", "--size", "832"], "--size must be WIDTHxHEIGHT for a Wan model"),
            (["wan22-5b", "--prompt-tokens", "600"], "--prompt-tokens must be between 1 and 512, got 600"),
        ] {
            let outcome = try KinoraCommand.run(["bench", "model"] + arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(expected), "\(arguments): \(outcome.error)")
        }
    }

    /// Over the budget: the plan is printed, then an error names the stage and its bytes, with a non-zero exit;
    /// with `--run` nothing runs.
    func testAPlanOverTheBudgetIsRefusedNamingTheStage() throws {
        let outcome = try KinoraCommand.run([
            "bench", "model", "tiny-wan21", "--vram", "1500000", "--prompt-tokens", "8", "--run",
        ])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.output.contains("does NOT fit the budget of 1.43 MiB"), outcome.output)
        XCTAssertTrue(
            outcome.error.contains("(at its decode stage) but the budget is 1.43 MiB"), outcome.error)
        XCTAssertFalse(outcome.output.contains("measured (--run)"), outcome.output)
    }
}
