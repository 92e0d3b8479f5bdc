import ArgumentParser
import Foundation
import KinoraGPU
import KinoraMedia
import KinoraModels
import KinoraTensor

/// `kinora upscale`: Real-ESRGAN on a picture or on every frame of a video, tile by tile.
struct UpscaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Upscale a picture or a video with Real-ESRGAN.",
        discussion: """
            The models are the Real-ESRGAN ncnn files that scripts/setup.sh installs (or the folder \
            $\(UpscalerModels.environmentVariable) names): realesr-animevideov3 (small and fast, x2/x3/x4), \
            realesrgan-x4plus and realesrgan-x4plus-anime (x4; other scales add a bicubic resize), or a path to a \
            .param file with its .bin next to it. Images are cut into tiles with context so they join without \
            seams; the tile is the largest that fits the device memory (--vram lowers it), or --tile. A video is \
            read and written frame by frame at its own frame rate, so memory stays flat however long it is; its \
            sound is carried over.

            Examples: kinora upscale keyframe.png --scale 2 -o keyframe-2x.png
                      kinora upscale clip.mp4 --model realesr-animevideov3 --scale 4 -o clip-4x.mp4
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "The picture (.png, .jpg, .webp) or video (.mp4, .mov, .mkv, .webm) to upscale.")
    var input: String

    @Option(help: "realesr-animevideov3, realesrgan-x4plus, realesrgan-x4plus-anime, or a .param file.")
    var model = UpscalerModels.defaultName

    @Option(help: "The factor: 2, 3 or 4.")
    var scale = 4

    @Option(help: "Tile side in input pixels (default: the largest that fits the device memory).")
    var tile: Int?

    @Option(help: "Constant rate factor of the video encoder (lower is better quality).")
    var crf: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Activation precision: fp32, fp16 or bf16 (default: the model file's weights, fp16 for ncnn's files).",
        discussion: "Activations are stored in it and computed in fp32 inside every kernel."))
    var precision: ActivationPrecision?

    @Option(name: .shortAndLong, help: "The output: a picture for a picture, a video for a video.")
    var output: String

    func validate() throws {
        guard [2, 3, 4].contains(scale) else { throw ValidationError("--scale must be 2, 3 or 4, got \(scale)") }
        if let tile, !(16...4096).contains(tile) {
            throw ValidationError("--tile must be 16...4096 pixels, got \(tile)")
        }
    }

    func run() throws {
        let started = Date()
        let inputURL = URL(fileURLWithPath: input)
        let outputURL = URL(fileURLWithPath: output)
        try InputFile.requireRegular(inputURL)
        let isPicture = (try? StillImageFormat(for: inputURL)) != nil
        if isPicture {
            _ = try StillImageFormat(for: outputURL)
        } else {
            _ = try VideoContainer(for: outputURL)
        }
        let info = try MediaInfo(probing: inputURL)
        guard let stream = info.first("video") else {
            throw Kinora.Failure(description: "\(input) has no picture or video stream")
        }
        try PlanarRGB.requireEightBitRGB(stream, of: input)
        // Every model's output is the input times the scale; refuse a size no encoder takes before any work.
        try ValueBounds.check(stream.width * scale, "the upscaled width (\(stream.width) × \(scale))",
                              in: ValueBounds.frameSide, unit: "pixels")
        try ValueBounds.check(stream.height * scale, "the upscaled height (\(stream.height) × \(scale))",
                              in: ValueBounds.frameSide, unit: "pixels")
        _ = try AtomicOutput(outputURL)

        let device = try deviceOptions.open()
        let upscaler = try RealESRGAN(
            paramURL: UpscalerModels.locate(model, scale: scale), outputScale: scale, precision: precision,
            device: device)
        try upscaler.uploadWeights()
        let arena = ActivationArena(device: device)
        let (width, height) = (stream.width, stream.height)
        let size = upscaler.outputSize(height: height, width: width)
        let tiling = try chooseTiling(upscaler, height: height, width: width, arena: arena)
        let settings = [
            "model": upscaler.name, "architecture": upscaler.architecture, "scale": "\(scale)",
            "tile": "\(tiling.tile)", "context": "\(tiling.context)", "source": inputURL.lastPathComponent,
        ]
        let describe =
            "\(upscaler.name) (\(upscaler.architecture)) ×\(scale): \(width)×\(height) → "
            + "\(size.width)×\(size.height), tiles of \(tiling.tile) px with \(tiling.context) px of context"
        FileHandle.standardError.write(Data("\(describe)\n".utf8))

        let reader = try VideoReader(url: inputURL)
        if isPicture {
            guard let frame = try reader.nextFrame() else {
                throw Kinora.Failure(description: "\(input) holds no picture")
            }
            let bar = ProgressBar(label: "upscale")
            let result = try upscale(frame, upscaler, tiling: tiling, arena: arena) { bar.update($0, of: $1) }
            bar.finish()
            try StillImageWriter.write(result, to: outputURL, metadata: ["kinora": Self.json(settings)])
        } else {
            guard let frameRate = stream.frameRate else {
                throw Kinora.Failure(description: "\(input): the video stream has no frame rate")
            }
            // The sound is carried over as it is (VideoWriter re-encodes it and fits it to the video's length).
            let audio = try AudioTrackReader.read(inputURL)
            let writer = try VideoWriter(
                url: outputURL,
                settings: VideoSettings(
                    frameRate: frameRate, crf: crf, padOddDimensions: true,
                    metadata: ["comment": Self.json(settings)]),
                audio: audio)
            let total = max(stream.packetCount, 1)
            let bar = ProgressBar(label: "upscale")
            var count = 0
            while let frame = try reader.nextFrame() {
                try writer.append(frame: try upscale(frame, upscaler, tiling: tiling, arena: arena))
                count += 1
                bar.update(min(count, total), of: total)
            }
            bar.finish()
            try writer.finish()
        }
        print(
            "wrote \(outputURL.path): \(size.width)×\(size.height), "
                + String(format: "wall %.3f s", Date().timeIntervalSince(started)))
    }

    /// The `--tile` the user gave (with the model's context), else the largest tile the memory plan fits in the
    /// memory left after the weights.
    private func chooseTiling(_ upscaler: RealESRGAN, height: Int, width: Int, arena: ActivationArena) throws
        -> UpscaleTiling {
        let context = upscaler.exactContext ?? RealESRGAN.rrdbContext
        if let tile { return try UpscaleTiling(tile: tile, context: context) }
        return try upscaler.tiling(height: height, width: width, arena: arena)
    }

    /// One frame through the upscaler, in the models' planar layout.
    private func upscale(
        _ frame: VideoFrame, _ upscaler: RealESRGAN, tiling: UpscaleTiling, arena: ActivationArena,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> VideoFrame {
        let result = try upscaler.upscale(
            frame.planarRGB, height: frame.height, width: frame.width,
            tiling: tiling, arena: arena, progress: progress)
        let size = upscaler.outputSize(height: frame.height, width: frame.width)
        return try VideoFrame(planarRGB: result, width: size.width, height: size.height)
    }

    /// `settings` as a one-line JSON object with sorted keys.
    static func json(_ settings: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
