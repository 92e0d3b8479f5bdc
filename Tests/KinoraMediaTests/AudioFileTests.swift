import Foundation
import XCTest

@testable import KinoraMedia

final class AudioFileTests: XCTestCase {
    func testEveryFormatRoundTripsWithinItsPrecision() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tone = try TestSupport.sine(frequency: 1000, amplitude: 0.5, seconds: 0.25, sampleRate: 44100, channels: 2)
        let cases: [(AudioFileFormat, String, Float)] = [
            (.wav16, "a.wav", 1.0 / 16384), (.wav24, "b.wav", 1.0 / 4_000_000), (.wavFloat, "c.wav", 0),
            (.flac16, "d.flac", 1.0 / 16384), (.flac24, "e.flac", 1.0 / 4_000_000), (.ogg, "f.ogg", 0.05),
        ]
        for (format, name, tolerance) in cases {
            let url = directory.appendingPathComponent(name)
            try AudioFile.write(tone, to: url, format: format)
            let back = try AudioFile.read(url)
            XCTAssertEqual(back.sampleRate, 44100, name)
            XCTAssertEqual(back.channels, 2, name)
            XCTAssertEqual(back.frameCount, tone.frameCount, name)
            if format == .ogg {
                XCTAssertEqual(TestSupport.rms(back, frames: 2000..<10000), Float(0.5 / 2.0.squareRoot()),
                               accuracy: tolerance)
            } else {
                let error = zip(back.samples, tone.samples).map { abs($0 - $1) }.max() ?? 1
                XCTAssertLessThanOrEqual(error, tolerance, name)
            }
        }
    }

    func testUnreadableFileNamesThePath() {
        XCTAssertThrowsError(try AudioFile.read(URL(fileURLWithPath: "/nonexistent/voice.wav"))) { error in
            guard case .unreadableFile(let path, _)? = error as? MediaError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/voice.wav")
        }
    }

    func testGarbageFileIsUnreadable() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("noise.wav")
        try Data("not audio at all".utf8).write(to: url)
        XCTAssertThrowsError(try AudioFile.read(url))
    }

    func testUnwritableDirectoryLeavesNothing() throws {
        let tone = try TestSupport.sine(frequency: 100, amplitude: 0.1, seconds: 0.01)
        XCTAssertThrowsError(try AudioFile.write(tone, to: URL(fileURLWithPath: "/nonexistent/dir/out.wav"))) {
            guard case .unwritableDirectory? = $0 as? MediaError else { return XCTFail("\($0)") }
        }
    }

    func testFormatFollowsExtension() throws {
        XCTAssertEqual(try AudioFileFormat(for: URL(fileURLWithPath: "x.flac")), .flac24)
        XCTAssertEqual(try AudioFileFormat(for: URL(fileURLWithPath: "x.wav")), .wav24)
        XCTAssertThrowsError(try AudioFileFormat(for: URL(fileURLWithPath: "x.mp3")))
    }
}
