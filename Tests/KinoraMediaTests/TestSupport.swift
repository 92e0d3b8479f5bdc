import Foundation
import XCTest

@testable import KinoraMedia

/// Shared fixtures: temporary directories, synthetic frames and tones, and measurements.
enum TestSupport {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kinora-media-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A gradient that moves four levels per frame (reflected, so it has no hard edge), with the frame number drawn
    /// as 8 binary 8×8 blocks on top. A set bit brightens all three channels equally, which changes luma only, so
    /// chroma subsampling loses little at the block edges.
    static func gradientFrame(index: Int, width: Int, height: Int) throws -> VideoFrame {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let offset = (y * width + x) * 3
                let phase = (x * 4 + index * 4) % 350
                let bit = x / 8 < 8 && y < 8 && (index >> (x / 8)) & 1 == 1 ? 40 : 0
                pixels[offset] = UInt8(40 + (phase < 176 ? phase : 349 - phase) + bit)
                pixels[offset + 1] = UInt8(40 + y * 175 / max(1, height - 1) + bit)
                pixels[offset + 2] = UInt8(40 + (index * 8) % 176 + bit)
            }
        }
        return try VideoFrame(width: width, height: height, rgb8: pixels)
    }

    static func sine(frequency: Double, amplitude: Float, seconds: Double, sampleRate: Int = 48000,
                     channels: Int = 1) throws -> AudioBuffer {
        let frames = Int((seconds * Double(sampleRate)).rounded())
        var samples = [Float](repeating: 0, count: frames * channels)
        for frame in 0..<frames {
            let value = amplitude * Float(sin(2 * Double.pi * frequency * Double(frame) / Double(sampleRate)))
            for channel in 0..<channels { samples[frame * channels + channel] = value }
        }
        return try AudioBuffer(sampleRate: sampleRate, channels: channels, samples: samples)
    }

    /// Peak-to-noise ratio in dB between two 8-bit pictures.
    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var sum = 0.0
        for i in a.indices {
            let difference = Double(a[i]) - Double(b[i])
            sum += difference * difference
        }
        let mse = sum / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// RMS of frames `range` of one channel.
    static func rms(_ buffer: AudioBuffer, channel: Int = 0, frames range: Range<Int>) -> Float {
        var sum: Float = 0
        for frame in range { sum += buffer[frame, channel] * buffer[frame, channel] }
        return (sum / Float(range.count)).squareRoot()
    }

    /// Integrated loudness of a file as measured by the ffmpeg command's ebur128 filter (independent of libebur128).
    static func ffmpegIntegratedLoudness(of url: URL) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-nostats", "-i", url.path, "-af", "ebur128", "-f", "null", "-"]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let summary = text.range(of: "Integrated loudness:") else {
            throw MediaError.invalidArgument("ffmpeg printed no ebur128 summary: \(text.suffix(500))")
        }
        let tail = text[summary.upperBound...]
        let line = tail.split(separator: "\n").first { $0.contains("I:") }!
        let number = line.split(separator: " ").compactMap { Double($0) }.first!
        return number
    }

    /// Runs the ffmpeg command quietly with `arguments` (outputs overwritten); throws with its messages if it fails.
    static func ffmpeg(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"] + arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: data, as: UTF8.self)
            throw MediaError.invalidArgument("ffmpeg \(arguments.joined(separator: " ")) failed: \(text.suffix(500))")
        }
    }

    static func files(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }
}
