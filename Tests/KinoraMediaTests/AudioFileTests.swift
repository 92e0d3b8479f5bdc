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

    func testFileWrittenAndReadInPiecesEqualsTheWholeBuffer() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tone = try TestSupport.sine(frequency: 311, amplitude: 0.6, seconds: 0.25, channels: 2)
        let url = directory.appendingPathComponent("pieces.wav")
        let writer = try AudioFileWriter(url: url, format: .wavFloat, sampleRate: 48000, channels: 2)
        for start in stride(from: 0, to: tone.frameCount, by: 777) {
            try writer.append(Array(tone.samples[(start * 2)..<(min(tone.frameCount, start + 777) * 2)]))
            XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "no file before finish")
        }
        try writer.finish()
        XCTAssertEqual(try AudioFile.read(url), tone)

        let reader = try AudioFileReader(url: url)
        XCTAssertEqual(reader.frameCount, tone.frameCount)
        var samples: [Float] = []
        while case let piece = try reader.read(frames: 1000), !piece.isEmpty { samples += piece }
        XCTAssertEqual(samples, tone.samples)
        XCTAssertEqual(try reader.read(5000..<5010), Array(tone.samples[10000..<10020]))
        XCTAssertEqual(try reader.read((tone.frameCount - 3)..<(tone.frameCount + 50)).count, 6, "cut at the end")
    }

    func testAbandonedWriterLeavesNothing() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var writer: AudioFileWriter? = try AudioFileWriter(url: directory.appendingPathComponent("gone.wav"),
                                                           sampleRate: 48000, channels: 1)
        try writer?.append([0.1, 0.2, 0.3])
        writer = nil
        XCTAssertEqual(try TestSupport.files(in: directory), [])
    }
}
