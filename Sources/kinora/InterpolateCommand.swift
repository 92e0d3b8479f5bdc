import ArgumentParser
import Foundation
import KinoraMedia
import KinoraModels
import KinoraTensor

/// `kinora interpolate`: a video to a higher frame rate with RIFE, its sound carried over.
struct InterpolateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Raise a video's frame rate with RIFE frame interpolation.",
        discussion: """
            Each output frame k sits at time k / FPS; where that falls between two input frames, RIFE (the \
            Practical-RIFE 4.25/4.26 IFNet that scripts/setup.sh installs, or --model, or \
            $\(DefaultRIFEModel.environmentVariable)) makes the frame at that point between them; where it falls on \
            an input frame, that frame is copied. A scene cut (the two frames' similarity under \
            --scene-threshold) is not morphed: the earlier frame is repeated. Frames are read and written one at a \
            time, so memory stays flat however long the video is; the sound is carried over.

            Example: kinora interpolate clip.mp4 --fps 48 -o clip-48.mp4
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "The video to interpolate (.mp4, .mov, .mkv, .webm).")
    var input: String

    @Option(help: "The output frame rate: 24, 29.97, 48, 60 or a fraction such as 24000/1001.")
    var fps: String

    @Option(help: "A RIFE checkpoint (flownet.pkl) instead of the installed one.")
    var model: String?

    @Option(help: "Similarity below which two frames are a scene cut and are not morphed (0 disables).")
    var sceneThreshold = SceneCut.defaultThreshold

    @Option(help: "Constant rate factor of the video encoder (lower is better quality).")
    var crf: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Activation precision: fp32, fp16 or bf16 (default: the model's weights, fp32 for flownet.pkl).",
        discussion: "Activations, flows included, are stored in it and computed in fp32 inside every kernel."))
    var precision: ActivationPrecision?

    @Option(name: .shortAndLong, help: "The output video (.mp4, .mov, .mkv or .webm).")
    var output: String

    func validate() throws {
        guard sceneThreshold.isFinite, (0...1).contains(sceneThreshold) else {
            throw ValidationError("--scene-threshold must be 0...1, got \(sceneThreshold)")
        }
    }

    func run() throws {
        let started = Date()
        let inputURL = URL(fileURLWithPath: input)
        let outputURL = URL(fileURLWithPath: output)
        try InputFile.requireRegular(inputURL)
        _ = try VideoContainer(for: outputURL)
        let outputRate = try FrameRate(parsing: fps)
        try ValueBounds.check(
            outputRate.framesPerSecond, "--fps", in: ValueBounds.framesPerSecond,
            unit: "frames per second")
        let info = try MediaInfo(probing: inputURL)
        guard let stream = info.first("video"), let inputRate = stream.frameRate else {
            throw Kinora.Failure(description: "\(input) has no video stream with a frame rate")
        }
        try PlanarRGB.requireEightBitRGB(stream, of: input)
        let conversion = try FrameRateConversion(
            input: (inputRate.numerator, inputRate.denominator),
            output: (outputRate.numerator, outputRate.denominator))
        _ = try AtomicOutput(outputURL)

        let device = try deviceOptions.open()
        let rife = try RIFE(url: DefaultRIFEModel.locate(model), precision: precision, device: device)
        let arena = ActivationArena(device: device)
        let audio = try AudioTrackReader.read(inputURL)
        let settings = [
            "model": URL(fileURLWithPath: rife.source).lastPathComponent, "fps": "\(outputRate)",
            "source_fps": "\(inputRate)", "scene_threshold": "\(sceneThreshold)",
            "source": inputURL.lastPathComponent,
        ]
        let writer = try VideoWriter(
            url: outputURL,
            settings: VideoSettings(
                frameRate: outputRate, crf: crf, padOddDimensions: true,
                metadata: ["comment": UpscaleCommand.json(settings)]),
            audio: audio)
        FileHandle.standardError.write(
            Data(
                "RIFE \(stream.width)×\(stream.height): \(inputRate) → \(outputRate) fps\n".utf8))

        let reader = try VideoReader(url: inputURL)
        let expected = max(conversion.frames(inputCount: max(stream.packetCount, 1)).count, 1)
        let bar = ProgressBar(label: "interpolate")
        var written = 0
        let summary = try FrameRateStream<VideoFrame>(conversion: conversion, sceneThreshold: sceneThreshold).run(
            read: { try reader.nextFrame() },
            planes: { ($0.planarRGB, $0.height, $0.width) },
            between: { a, b, height, width, timesteps in
                try rife.interpolate(a, b, height: height, width: width, timesteps: timesteps, arena: arena)
                    .map { try VideoFrame(planarRGB: $0, width: width, height: height) }
            },
            write: { frame in
                try writer.append(frame: frame)
                written += 1
                bar.update(min(written, expected), of: max(expected, written))
            })
        let (interpolated, cuts) = (summary.interpolated, summary.cuts)
        bar.finish()
        guard written > 0 else { throw Kinora.Failure(description: "\(input) holds no frames") }
        try writer.finish()
        print(
            "wrote \(outputURL.path): \(written) frames at \(outputRate) fps (\(interpolated) interpolated, "
                + "\(cuts) scene cut\(cuts == 1 ? "" : "s") kept), "
                + String(format: "wall %.3f s", Date().timeIntervalSince(started)))
    }
}
