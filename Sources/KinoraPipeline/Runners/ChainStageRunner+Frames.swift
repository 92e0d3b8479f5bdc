import Foundation
import KinoraGPU
import KinoraMedia
import KinoraModels
import KinoraTensor

/// The stages that work on finished pictures and clips with a model of their own: `upscale` (Real-ESRGAN) and
/// `interpolate` (RIFE). A clip streams from file to file one frame at a time, so no clip is held in memory.
///
/// Results on disk: `upscale` writes the upscaled clip (`clip.mkv`, FFV1 at the clip's frame rate) for a video shot,
/// or the upscaled picture (`image.kf32`, [3, height, width]) for a still; `interpolate` the clip at the target frame
/// rate (`clip.mkv`). The output's stages (`input: cut`) read and write the whole cut as `encode-video` does
/// (`video.mkv`).
extension ChainStageRunner {
    /// A loaded upscaler or interpolator.
    struct OpenFrameModel {
        enum Model {
            /// The upscaler's `.param` file; the network opens on the first stage, for that stage's scale.
            case upscaler(URL, RealESRGAN?)
            case interpolator(RIFE)
        }

        var model: Model
        let arena: ActivationArena
    }

    /// Loads the upscaler or interpolator at `url`: RIFE's weights upload now, its activations in `precision` (the
    /// model's `precision:`, as `kinora interpolate --precision`; nil: the weights' type), an upscaler's when its
    /// first stage runs (the scale, which decides the network's final resize, is the stage's).
    func loadFrameModel(_ key: String, url: URL, role: ComponentRole, precision: ActivationPrecision?) throws {
        guard frameModels[key] == nil else { return }
        let model: OpenFrameModel.Model = role == .upscaler
            ? .upscaler(url, nil) : .interpolator(try RIFE(url: url, precision: precision, device: device))
        frameModels[key] = OpenFrameModel(model: model, arena: ActivationArena(device: device))
    }

    /// The loaded upscaler of `model` at `scale` (reopened when the last stage asked for another scale).
    private func upscaler(_ stage: Stage, model: (any StageModel)?, scale: Int)
        throws -> (RealESRGAN, ActivationArena) {
        guard let key = model?.identity.key, var open = frameModels[key],
              case .upscaler(let url, let current) = open.model else {
            throw RunnerError.modelNotLoaded(stage: stage.id, model: model?.identity.name ?? "none")
        }
        if let current, Int(current.scale.rounded()) == scale { return (current, open.arena) }
        // The other scale's network (and its device weights) goes before this one uploads.
        open.model = .upscaler(url, nil)
        frameModels[key] = open
        open.arena.trim()
        let precision = model?.identity.activationPrecision
        let network = try RealESRGAN(paramURL: url, outputScale: scale, precision: precision, device: device)
        try network.uploadWeights()
        open.model = .upscaler(url, network)
        frameModels[key] = open
        return (network, open.arena)
    }

    /// Upscales a still's picture (`input: picture`) or a clip frame by frame (`input: clip`). The tile is the
    /// largest whose own memory plan fits the bytes the plan predicted for the stage.
    func upscale(_ stage: Stage, model: (any StageModel)?, tactic: Tactic?, input: URL, into folder: URL,
                 progress: (Int) -> Void) throws {
        let scale = try int(stage, "scale")
        let (network, arena) = try upscaler(stage, model: model, scale: scale)
        let width = try int(stage, "width"), height = try int(stage, "height")
        let budget = model?.activationBytes(for: [stage], tactic: tactic ?? Tactic()) ?? 0
        let tiling = try network.tiling(height: height, width: width, availableBytes: budget, arena: arena)
        func run(_ planar: [Float], height: Int, width: Int) throws -> [Float] {
            let result = try network.upscale(planar, height: height, width: width, tiling: tiling, arena: arena)
            try requireFinite(result, "upscaled picture", of: stage, model: model)
            return result
        }
        if try string(stage, "input") == "picture" {
            let (planar, shape) = try readFinite("image.kf32", in: input, for: stage)
            guard shape == [3, height, width] else {
                throw RunnerError.unsupported(stage: stage.id, reason: "expected a [3, \(height), \(width)] picture, "
                                              + "got \(shape)")
            }
            let size = network.outputSize(height: height, width: width)
            try FloatArrayFile.write(run(planar, height: height, width: width), shape: [3, size.height, size.width],
                                     to: folder.appendingPathComponent("image.kf32"))
            progress(1)
            return
        }
        let name = videoFile(stage)
        let reader = try VideoReader(url: file(name, in: input, for: stage))
        let rate = try FrameRate(parsing: stage.parameters.string("fps") ?? YAMLField.format(number(stage, "fps")))
        let writer = try VideoWriter(url: folder.appendingPathComponent(name),
                                     settings: VideoSettings(codec: .ffv1, frameRate: rate))
        var count = 0
        while let frame = try reader.nextFrame() {
            let size = network.outputSize(height: frame.height, width: frame.width)
            let result = try run(frame.planarRGB, height: frame.height, width: frame.width)
            try writer.append(frame: VideoFrame(planarRGB: result, width: size.width, height: size.height))
            count += 1
            progress(count)
        }
        try writer.finish()
    }

    /// The file a clip stage reads and writes: a shot's clip (`clip.mkv`), or the output's cut (`video.mkv`).
    private func videoFile(_ stage: Stage) -> String {
        stage.parameters.string("input") == "cut" ? "video.mkv" : "clip.mkv"
    }

    /// Raises a clip's frame rate (`clip_fps` → `fps`) with RIFE, frame by frame (`FrameRateStream`): output frames
    /// on a source frame copy it, the others are made between their two source frames, a scene cut (or a source frame
    /// listed in `cuts`, where a shot begins) repeats the earlier frame. The output's cut is then held on its last
    /// frame up to `output_frames`, so it lasts as long as before.
    func interpolate(_ stage: Stage, model: (any StageModel)?, clip: URL, into folder: URL,
                     progress: (Int) -> Void) throws {
        guard let key = model?.identity.key, let open = frameModels[key], case .interpolator(let rife) = open.model
        else { throw RunnerError.modelNotLoaded(stage: stage.id, model: model?.identity.name ?? "none") }
        let source = try FrameRate(parsing: string(stage, "clip_fps"))
        let target = try FrameRate(parsing: string(stage, "fps"))
        let conversion = try FrameRateConversion(input: (source.numerator, source.denominator),
                                                 output: (target.numerator, target.denominator))
        let name = videoFile(stage)
        let reader = try VideoReader(url: file(name, in: clip, for: stage))
        let writer = try VideoWriter(url: folder.appendingPathComponent(name),
                                     settings: VideoSettings(codec: .ffv1, frameRate: target))
        let cuts = Set((stage.parameters.string("cuts") ?? "").split(separator: ",").compactMap { Int($0) })
        let stream = FrameRateStream<VideoFrame>(conversion: conversion,
                                                 sceneThreshold: try number(stage, "scene_threshold"), cuts: cuts)
        var written = 0
        var last: VideoFrame?
        let summary = try stream.run(
            read: { try reader.nextFrame() },
            planes: { ($0.planarRGB, $0.height, $0.width) },
            between: { a, b, height, width, timesteps in
                try rife.interpolate(a, b, height: height, width: width, timesteps: timesteps, arena: open.arena)
                    .map { frame in
                        try self.requireFinite(frame, "interpolated frame", of: stage, model: model)
                        return try VideoFrame(planarRGB: frame, width: width, height: height)
                    }
            },
            write: { frame in
                try writer.append(frame: frame)
                written += 1
                progress(written)
                last = frame
            })
        guard summary.written > 0, let last else {
            throw RunnerError.invalidInput(stage: stage.id, file: clip.appendingPathComponent(name).path,
                                           reason: "the clip has no frames")
        }
        if name == "video.mkv" {
            while written < (try int(stage, "output_frames")) {
                try writer.append(frame: last)
                written += 1
                progress(written)
            }
        }
        try writer.finish()
    }
}
