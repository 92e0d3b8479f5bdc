import Foundation
import XCTest

@testable import KinoraMedia

final class VideoWriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func encode(_ name: String, settings: VideoSettings, frames: Int, width: Int = 64, height: Int = 48,
                        audio: AudioBuffer? = nil) throws -> URL {
        let url = directory.appendingPathComponent(name)
        let writer = try VideoWriter(url: url, settings: settings, audio: audio)
        for index in 0..<frames {
            try writer.append(frame: TestSupport.gradientFrame(index: index, width: width, height: height))
        }
        return try writer.finish()
    }

    func testH264MP4WithAudioHasExpectedStreamsDurationAndQuality() throws {
        let rate = try FrameRate(24000, 1001)
        let tone = try TestSupport.sine(frequency: 440, amplitude: 0.3, seconds: 2, channels: 2)
        let url = try encode("h264.mp4", settings: VideoSettings(codec: .h264, frameRate: rate, crf: 18), frames: 24,
                             audio: tone)
        let info = try MediaInfo(probing: url)
        let video = try XCTUnwrap(info.first("video"))
        XCTAssertEqual(video.codecName, "h264")
        XCTAssertEqual(video.width, 64)
        XCTAssertEqual(video.height, 48)
        XCTAssertEqual(video.frameRate, rate)
        XCTAssertEqual(video.packetCount, 24)
        XCTAssertEqual(video.pixelFormat, "yuv420p")
        XCTAssertEqual(video.colorPrimaries, "bt709")
        XCTAssertEqual(video.colorTransfer, "bt709")
        XCTAssertEqual(video.colorSpace, "bt709")
        XCTAssertEqual(try XCTUnwrap(video.duration), 24 * 1001 / 24000, accuracy: 0.01)
        let audio = try XCTUnwrap(info.first("audio"))
        XCTAssertEqual(audio.codecName, "aac")
        XCTAssertEqual(audio.sampleRate, 48000)
        XCTAssertEqual(audio.channels, 2)
        // Audio is trimmed to the video's 1.001 s (the 2 s tone is longer); AAC adds at most one 1024-sample frame.
        XCTAssertEqual(try XCTUnwrap(audio.duration), 1.001, accuracy: 0.03)

        let reader = try VideoReader(url: url)
        var index = 0
        while let decoded = try reader.nextFrame() {
            let original = try TestSupport.gradientFrame(index: index, width: 64, height: 48)
            XCTAssertGreaterThan(TestSupport.psnr(decoded.rgb8, original.rgb8), 35, "frame \(index)")
            index += 1
        }
        XCTAssertEqual(index, 24)
    }

    func testFFV1IsLosslessBitForBit() throws {
        let url = try encode("lossless.mkv", settings: VideoSettings(codec: .ffv1, frameRate: try FrameRate(25)),
                             frames: 6, width: 33, height: 17)
        let info = try MediaInfo(probing: url)
        XCTAssertEqual(info.first("video")?.codecName, "ffv1")
        XCTAssertEqual(info.first("video")?.packetCount, 6)
        let reader = try VideoReader(url: url)
        for index in 0..<6 {
            let decoded = try XCTUnwrap(try reader.nextFrame())
            XCTAssertEqual(decoded.rgb8, try TestSupport.gradientFrame(index: index, width: 33, height: 17).rgb8)
        }
        XCTAssertNil(try reader.nextFrame())
    }

    func testH265AV1AndProResProduceTheirCodecs() throws {
        let rate = try FrameRate(30)
        let cases: [(String, VideoCodec, String?, String)] = [
            ("x.mkv", .h265, "ultrafast", "hevc"), ("x.webm", .av1, "13", "av1"), ("x.mov", .prores, nil, "prores"),
        ]
        for (name, codec, preset, expected) in cases {
            // SVT-AV1 needs at least 64×64.
            let url = try encode(name, settings: VideoSettings(codec: codec, frameRate: rate, preset: preset),
                                 frames: 4, height: 64)
            let video = try XCTUnwrap(MediaInfo(probing: url).first("video"))
            XCTAssertEqual(video.codecName, expected)
            XCTAssertEqual(video.packetCount, 4, expected)
            XCTAssertEqual(video.width, 64)
        }
    }

    func testWebMCarriesOpusAudio() throws {
        let tone = try TestSupport.sine(frequency: 440, amplitude: 0.3, seconds: 0.2, sampleRate: 44100)
        let url = try encode("a.webm", settings: VideoSettings(codec: .av1, frameRate: try FrameRate(10),
                                                               preset: "13"), frames: 5, height: 64,
                             audio: tone)
        let audio = try XCTUnwrap(MediaInfo(probing: url).first("audio"))
        XCTAssertEqual(audio.codecName, "opus")
        XCTAssertEqual(audio.sampleRate, 48000)
        XCTAssertEqual(audio.channels, 1)
    }

    func testFloatFramesMatchTheirEightBitEquivalent() throws {
        let url = directory.appendingPathComponent("float.mkv")
        let writer = try VideoWriter(url: url, settings: VideoSettings(codec: .ffv1, frameRate: try FrameRate(1)))
        let values: [Float] = (0..<(16 * 8 * 3)).map { Float($0 % 97) / 96 }
        try writer.append(frame: VideoFrame(width: 16, height: 8, rgbFloat: values))
        try writer.finish()
        let decoded = try XCTUnwrap(try VideoReader(url: url).nextFrame())
        XCTAssertEqual(decoded.rgb8, values.map { UInt8(($0 * 255).rounded()) })
    }

    func testMetadataTagsAreStored() throws {
        let settings = VideoSettings(codec: .h264, frameRate: try FrameRate(24),
                                     metadata: ["title": "Opening shot", "kinora_seed": "1234", "workflow": "w.yaml"])
        for name in ["tags.mp4", "tags.mkv"] {
            // Matroska stores tag names in upper case.
            let info = try MediaInfo(probing: try encode(name, settings: settings, frames: 2))
            let tags = Dictionary(uniqueKeysWithValues: info.metadata.map { ($0.key.lowercased(), $0.value) })
            XCTAssertEqual(tags["title"], "Opening shot", name)
            XCTAssertEqual(tags["kinora_seed"], "1234", name)
            XCTAssertEqual(tags["workflow"], "w.yaml", name)
        }
    }

    func testOddSizeIsRejectedForYUV420AndLeavesNoFile() throws {
        XCTAssertThrowsError(try encode("odd.mp4", settings: VideoSettings(frameRate: try FrameRate(24)), frames: 2,
                                        width: 63, height: 48)) { error in
            XCTAssertEqual(error as? MediaError, .oddDimensions(width: 63, height: 48, codec: "h264"))
        }
        XCTAssertEqual(try TestSupport.files(in: directory), [])
    }

    func testOddSizeIsPaddedWhenRequested() throws {
        let url = try encode("pad.mp4", settings: VideoSettings(frameRate: try FrameRate(24), padOddDimensions: true),
                             frames: 2, width: 63, height: 47)
        let video = try XCTUnwrap(MediaInfo(probing: url).first("video"))
        XCTAssertEqual(video.width, 64)
        XCTAssertEqual(video.height, 48)
    }

    func testZeroFramesFailsAndLeavesNoFile() throws {
        let url = directory.appendingPathComponent("empty.mp4")
        let writer = try VideoWriter(url: url, settings: VideoSettings(frameRate: try FrameRate(24)))
        XCTAssertThrowsError(try writer.finish()) { error in
            XCTAssertEqual(error as? MediaError, .noFrames(path: url.path))
        }
        XCTAssertEqual(try TestSupport.files(in: directory), [])
    }

    func testMismatchedFrameSizeFailsAndKeepsTheExistingFile() throws {
        let url = directory.appendingPathComponent("keep.mp4")
        try Data("previous".utf8).write(to: url)
        let writer = try VideoWriter(url: url, settings: VideoSettings(frameRate: try FrameRate(24)))
        try writer.append(frame: TestSupport.gradientFrame(index: 0, width: 64, height: 48))
        XCTAssertThrowsError(try writer.append(frame: TestSupport.gradientFrame(index: 1, width: 32, height: 48))) {
            XCTAssertEqual($0 as? MediaError, .frameSizeMismatch(index: 1, expected: "64x48", got: "32x48"))
        }
        XCTAssertThrowsError(try writer.finish()) { XCTAssertEqual($0 as? MediaError, .writerClosed(path: url.path)) }
        XCTAssertEqual(try TestSupport.files(in: directory), ["keep.mp4"])
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "previous")
    }

    func testAbandonedWriterStopsEncodingAndLeavesNoFile() throws {
        let url = directory.appendingPathComponent("abandoned.mp4")
        do {
            let writer = try VideoWriter(url: url, settings: VideoSettings(frameRate: try FrameRate(24)))
            for index in 0..<4 {
                try writer.append(frame: TestSupport.gradientFrame(index: index, width: 64, height: 48))
            }
        }
        XCTAssertEqual(try TestSupport.files(in: directory), [])
    }

    /// A live MP4 is there under its name while it is written, fragmented so a reader decodes what has been written
    /// so far; finished, it is a complete file; abandoned unfinished, it is removed.
    func testALiveFileCanBeReadWhileItGrowsAndIsRemovedWhenAbandoned() throws {
        var settings = VideoSettings(codec: .h264, frameRate: try FrameRate(16), crf: 23, preset: "ultrafast")
        settings.live = true
        let url = directory.appendingPathComponent("preview.mp4")
        let writer = try VideoWriter(url: url, settings: settings)
        for index in 0..<24 {
            try writer.append(frame: TestSupport.gradientFrame(index: index, width: 64, height: 48))
        }
        // The encoder runs a few frames behind on its own thread and x264 holds a look-ahead: wait for fragments.
        var decoded = 0
        for _ in 0..<100 where decoded == 0 {
            Thread.sleep(forTimeInterval: 0.05)
            if FileManager.default.fileExists(atPath: url.path), let reader = try? VideoReader(url: url) {
                decoded = 0
                while (try? reader.nextFrame()) ?? nil != nil { decoded += 1 }
            }
        }
        XCTAssertGreaterThan(decoded, 0, "frames readable before the writer finished")
        XCTAssertEqual(try writer.finish(), url)
        XCTAssertEqual(try MediaInfo(probing: url).first("video")?.packetCount, 24)

        let abandoned = directory.appendingPathComponent("abandoned.mp4")
        do {
            let writer = try VideoWriter(url: abandoned, settings: settings)
            try writer.append(frame: TestSupport.gradientFrame(index: 0, width: 64, height: 48))
            XCTAssertTrue(FileManager.default.fileExists(atPath: abandoned.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: abandoned.path))
    }

    /// Encodes the same frames (decoded from an FFV1 cut, as the render's mux gets them) with audio and subtitles
    /// several times: the files are the same byte for byte whatever the heap holds and however the threads
    /// interleave. Before each run the heap is filled with blocks of a new byte pattern, half of them freed, and a
    /// thread keeps allocating and filling blocks while the encode runs, so memory read before it is written, or a
    /// picture refilled while the encoder still reads it, would change the output. On a CPU with AVX-512 this fails
    /// when libx264 may use it (see X264InstructionSets).
    func testTheSameFramesEncodeToTheSameBytesWhateverTheHeapHolds() throws {
        let rate = try FrameRate(24)
        // 70×42: 5 macroblocks a row (not a multiple of 8, where x264's AVX-512 mb-tree read past the row), neither
        // side a multiple of 16 (the encoder pads) and rows that end mid-vector for swscale; 48 frames pass x264's
        // 40-frame look-ahead, so its frame threads all work.
        let cut = try encode("cut.mkv", settings: VideoSettings(codec: .ffv1, frameRate: rate), frames: 48, width: 70,
                             height: 42)
        let tone = try TestSupport.sine(frequency: 330, amplitude: 0.25, seconds: 2, channels: 2)
        let cues = [try SubtitleCue(start: 0.2, end: 1.1, text: "The same every time")]
        var outputs: [Data] = []
        for run in 0..<6 {
            let churn = HeapChurn(pattern: UInt8(truncatingIfNeeded: 0x5A + run * 37))
            let url = directory.appendingPathComponent("run\(run).mp4")
            let writer = try VideoWriter(url: url, settings: VideoSettings(codec: .h264, frameRate: rate, crf: 20),
                                         audio: tone, subtitles: cues)
            let reader = try VideoReader(url: cut)
            while let frame = try reader.nextFrame() {
                try writer.append(frame: frame)
            }
            try writer.finish()
            churn.stop()
            outputs.append(try Data(contentsOf: url))
        }
        for (run, output) in outputs.enumerated().dropFirst() {
            XCTAssertEqual(output, outputs[0], "run \(run) differs from run 0")
        }
    }

    func testCodecThatTheContainerCannotHoldIsRejected() throws {
        let settings = VideoSettings(codec: .prores, frameRate: try FrameRate(24))
        XCTAssertThrowsError(try encode("p.webm", settings: settings, frames: 1)) {
            XCTAssertEqual($0 as? MediaError, .codecNotSupportedByContainer(codec: "prores", container: "webm"))
        }
        XCTAssertEqual(try TestSupport.files(in: directory), [])
    }

    func testUnwritableDirectoryIsReportedBeforeEncoding() throws {
        let url = directory.appendingPathComponent("missing/out.mp4")
        XCTAssertThrowsError(try VideoWriter(url: url, settings: VideoSettings(frameRate: try FrameRate(24)))) {
            guard case .unwritableDirectory(let path, _)? = $0 as? MediaError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, directory.appendingPathComponent("missing").path)
        }
    }

    func testUnknownExtensionIsRejected() throws {
        XCTAssertThrowsError(try VideoWriter(url: directory.appendingPathComponent("x.avi"),
                                             settings: VideoSettings(frameRate: try FrameRate(24)))) {
            XCTAssertEqual($0 as? MediaError, .unsupportedContainer(path: directory.appendingPathComponent("x.avi").path))
        }
    }
}

/// Leaves a byte pattern all over the heap: blocks of 64 bytes to 256 KiB are allocated and filled with it, every
/// other one freed at once (so later allocations get memory holding the pattern), and a thread goes on doing so
/// until ``stop()``.
private final class HeapChurn: @unchecked Sendable {
    private let pattern: UInt8
    private let lock = NSLock()
    private var running = true
    private let stopped = DispatchSemaphore(value: 0)
    private var kept: [[UInt8]] = []

    init(pattern: UInt8) {
        self.pattern = pattern
        kept = churn(blocks: 260)
        Thread { [self] in
            while isRunning {
                withExtendedLifetime(churn(blocks: 26)) {}
            }
            stopped.signal()
        }.start()
    }

    /// Ends the thread and frees the blocks kept.
    func stop() {
        lock.lock()
        running = false
        lock.unlock()
        stopped.wait()
        kept = []
    }

    private var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return running
    }

    /// Allocates `blocks` blocks filled with the pattern and returns every other one; the rest are freed.
    private func churn(blocks: Int) -> [[UInt8]] {
        var kept: [[UInt8]] = []
        for index in 0..<blocks {
            let block = [UInt8](repeating: pattern, count: 64 << (index % 13))
            if index % 2 == 0 { kept.append(block) } else { withExtendedLifetime(block) {} }
        }
        return kept
    }
}
