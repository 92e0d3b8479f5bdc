import Foundation
import KinoraMedia
import KinoraModels

/// Expands a workflow into its stage graph: per shot encodeText → denoise → decode → [upscale] → animate (a video
/// shot: its clip's stages → [upscale] → [interpolate] → conform; a stream shot: its prompts' encodings, one denoise
/// per chunk, one decode → [upscale] → [interpolate] → conform), then one encodeVideo → [the output's upscale] →
/// [the output's interpolate]; per voice line phonemize → speak; per music cue loadAudio (a file) or generateMusic
/// (a prompt); then mix and mux. Stages that would do identical work (same kind, model, settings and inputs) are
/// built once and shared.
public struct StageGraphBuilder {
    /// Makes the `StageModel` for the `role` component of a workflow model.
    public typealias ModelProvider = (ModelReference, ModelFamily, ComponentRole) throws -> any StageModel
    /// The fingerprint of a file the workflow names (music), for cache keys.
    public typealias FileFingerprinter = (String) throws -> String
    /// The folder of a music model the workflow names, read (`MusicModelFolder.open`); nil when the graph is built
    /// without the files (the model's window is then not checked).
    public typealias MusicFolderReader = (ModelReference, ModelFamily) throws -> MusicModelFolder?
    /// The folder of a video model the workflow names, read (`VideoModelFolder.open`); nil when the graph is built
    /// without the files (sizes and frames are then checked against the catalog's figures, keyframes not at all).
    public typealias VideoFolderReader = (ModelReference, ModelFamily) throws -> VideoModelFolder?

    public var catalog: ModelCatalog
    public var provideModel: ModelProvider
    public var fingerprint: FileFingerprinter
    public var musicFolder: MusicFolderReader
    public var videoFolder: VideoFolderReader

    public init(catalog: ModelCatalog, provideModel: @escaping ModelProvider,
                fingerprint: @escaping FileFingerprinter,
                musicFolder: @escaping MusicFolderReader = { _, _ in nil },
                videoFolder: @escaping VideoFolderReader = { _, _ in nil }) {
        self.catalog = catalog
        self.provideModel = provideModel
        self.fingerprint = fingerprint
        self.musicFolder = musicFolder
        self.videoFolder = videoFolder
    }

    /// Builds the graph for `mode`. Throws `StageGraphError.invalid` for items their models cannot make,
    /// `CatalogError` for unknown families, and whatever the model provider or fingerprinter throws.
    public func build(_ workflow: Workflow, mode: RenderMode) throws -> StageGraph {
        var state = BuildState()
        var issues: [SourceIssue] = []

        var frames: [String] = []
        for (index, shot) in workflow.shots.enumerated() {
            let owner = "shots[\(index)]"
            let settings = try resolve(shot, mode: mode, workflow: workflow)
            guard let reference = workflow.model(named: settings.model) else { continue }
            let family = try catalog.family(of: reference)
            let wanted: ModelFamily.Output = shot.motion == .still ? .image : .video
            guard family.output == wanted else {
                issues.append(SourceIssue(location: settings.modelLocation, field: "\(owner).\(mode.rawValue).model",
                                          message: "'\(reference.name)' is a \(family.name) model, which makes "
                                          + "\(family.output.noun); a \(shot.motion.rawValue) shot needs one "
                                          + "that makes \(wanted.noun)"))
                continue
            }
            let frameCount = workflow.frameCount(of: shot)
            // A video shot made by an autoregressive model (a draft by a causal workhorse) is made as a stream, which
            // takes none of a clip's sampler settings.
            if shot.motion == .video, family.autoregressive, let given = mode == .draft ? shot.draft : shot.final {
                let clipOnly = [("steps", given.steps != nil), ("sampler", given.sampler != nil),
                                ("cfg", given.cfg != nil), ("shift", given.shift != nil),
                                ("frames", given.frames != nil)].filter(\.1).map(\.0)
                if !clipOnly.isEmpty {
                    issues.append(SourceIssue(
                        location: given.location, field: "\(owner).\(mode.rawValue)." + clipOnly[0],
                        message: "'\(reference.name)' is autoregressive: the shot is made as a stream, which takes no "
                            + clipOnly.joined(separator: ", ") + " (its schedule and chunk_frames set it)"))
                    continue
                }
            }
            if shot.motion == .stream || (shot.motion == .video && family.autoregressive) {
                if let clip = try streamStages(shot, settings, reference: reference, family: family, owner: owner,
                                               mode: mode, workflow: workflow, state: &state, issues: &issues) {
                    frames.append(clip)
                }
                continue
            }
            if shot.motion == .video {
                if let clip = try videoStages(shot, settings, reference: reference, family: family, owner: owner,
                                              mode: mode, workflow: workflow, state: &state, issues: &issues) {
                    frames.append(clip)
                }
                continue
            }
            var decode = try imageStages(shot, settings, reference: reference, family: family, prefix: shot.id,
                                         owner: owner, state: &state)
            if shot.upscale != nil {
                let size = settings.size
                guard let upscaled = try upscaleStage(shot, input: decode, width: size.width, height: size.height,
                                                      clip: nil, owner: owner, workflow: workflow, state: &state,
                                                      issues: &issues) else { continue }
                decode = upscaled.id
            }
            let camera = shot.camera
            frames.append(state.add(Stage(
                id: "\(shot.id)/animate", kind: .animate,
                parameters: StageParameters([
                    "frames": .int(frameCount), "width": .int(workflow.output.size.width),
                    "height": .int(workflow.output.size.height),
                    "zoom": .string("\(camera.zoom.start)→\(camera.zoom.end)"),
                    "pan": .string("\(camera.pan.start)→\(camera.pan.end)"),
                    "tilt": .string("\(camera.tilt.start)→\(camera.tilt.end)"), "ease": .string(camera.ease.rawValue),
                ]),
                inputs: [decode], steps: frameCount, unit: .frame, owners: [owner])))
        }

        let output = workflow.output
        var encode: [String: StageParameters.Value] = [
            "codec": .string(output.codec.rawValue), "crf": .int(output.crf ?? -1),
            "fps": .string(output.fps.description), "width": .int(output.size.width),
            "height": .int(output.size.height),
        ]
        // Only a cut with a transition carries them, so the key of a cut without any stays what it was.
        if workflow.shots.contains(where: { $0.transition != .cut }) {
            encode["transitions"] = .string(workflow.shots.map { $0.transition.parameter(at: output.fps.value) }
                .joined(separator: ","))
        }
        let joined = state.add(Stage(
            id: "video/encode", kind: .encodeVideo, parameters: StageParameters(encode), inputs: frames,
            steps: workflow.frameCount, unit: .frame, owners: ["output"]))
        let video = try outputStages(workflow, cut: joined, state: &state, issues: &issues)

        var audio: [String] = []
        var speeches: [String] = []
        var placements: [String] = []
        for (index, line) in workflow.voiceLines.enumerated() {
            let owner = "voices[\(index)]"
            guard let reference = workflow.model(named: line.voice) else { continue }
            let family = try catalog.family(of: reference)
            guard family.output == .speech else {
                issues.append(SourceIssue(location: line.voiceLocation, field: "\(owner).voice",
                                          message: "'\(reference.name)' is a \(family.name) model, which makes "
                                          + "\(family.output.noun), not speech"))
                continue
            }
            if reference.hasSingleFileOptions {
                issues.append(SourceIssue(location: reference.location, field: "models.\(reference.name)",
                                          message: "'prediction', 'tokenizer' and 'config' apply to Stable Diffusion "
                                          + "single-file checkpoints, not to a \(family.name) voice"))
                continue
            }
            if let lora = reference.loras.first {
                issues.append(SourceIssue(location: lora.location, field: lora.field,
                                          message: "LoRA adapters apply to Stable Diffusion models, not to a "
                                          + "\(family.name) voice; move 'loras' to an image model"))
                continue
            }
            let voice = try state.bind(reference, family, .voice, provideModel)
            let phonemes = state.add(Stage(
                id: "\(line.id)/phonemize", kind: .phonemize,
                parameters: StageParameters(["text": .string(line.text), "voice": .string(voice)]),
                owners: [owner]))
            let speaker: String
            switch line.speaker {
            case .index(let number): speaker = "#\(number)"
            case .name(let name): speaker = name
            case nil: speaker = ""
            }
            speeches.append(state.add(Stage(
                id: "\(line.id)/speak", kind: .speak, model: voice,
                parameters: StageParameters(["speaker": .string(speaker), "speed": .number(line.speed),
                                             "characters": .int(line.text.count)]),
                inputs: [phonemes], owners: [owner])))
            audio.append(speeches[speeches.count - 1])
            placements.append("voice \(line.id) start=\(line.start) end=\(line.end.map { "\($0)" } ?? "-") "
                              + "gain=\(line.gain)")
        }
        for (index, cue) in workflow.musicCues.enumerated() {
            switch cue.source {
            case .file(let file):
                audio.append(state.add(Stage(
                    id: "\(cue.id)/load", kind: .loadAudio,
                    parameters: StageParameters(["file": .string(file), "fingerprint": .string(try fingerprint(file)),
                                                 "sample_rate": .int(output.sampleRate)]),
                    owners: ["music[\(index)]"])))
            case .generated(let music):
                guard let stage = try generate(cue, music, owner: "music[\(index)]", mode: mode, workflow: workflow,
                                               state: &state, issues: &issues) else { continue }
                audio.append(stage)
            }
            placements.append("music \(cue.id) start=\(cue.start) end=\(cue.end.map { "\($0)" } ?? "-") "
                              + "gain=\(cue.gain) fade=\(cue.fadeIn)/\(cue.fadeOut) loop=\(cue.loop)")
        }
        guard issues.isEmpty else { throw StageGraphError.invalid(issues) }

        var muxInputs = [video]
        if !audio.isEmpty {
            let ducking = workflow.mix.ducking.map {
                "amount=\($0.reductionDB) threshold=\($0.thresholdDB) attack=\($0.attack) release=\($0.release)"
            } ?? "off"
            muxInputs.append(state.add(Stage(
                id: "audio/mix", kind: .mix,
                parameters: StageParameters([
                    "placements": .string(placements.joined(separator: "\n")), "ducking": .string(ducking),
                    "normalize": .bool(workflow.mix.normalize), "loudness": .number(output.loudness),
                    "true_peak": .number(output.truePeak), "sample_rate": .int(output.sampleRate),
                    "duration": .number(workflow.duration),
                ]),
                inputs: audio, owners: ["mix"])))
        }
        var mux: [String: StageParameters.Value] = [
            "container": .string(StageGraph.container(of: output.file)), "duration": .number(workflow.duration),
        ]
        // Only an interpolated cut is muxed at another rate than the output's, so other keys stay what they were.
        if output.interpolate != nil { mux["fps"] = .string(output.fileFPS.description) }
        if output.subtitles != .off, !speeches.isEmpty {
            // The cues' texts and starts; their ends come from the speech inputs' lengths.
            mux["subtitles"] = .string(output.subtitles.rawValue)
            mux["cues"] = .string(workflow.voiceLines.map { "\($0.start) \($0.text)" }.joined(separator: "\n"))
            muxInputs += speeches
        }
        _ = state.add(Stage(
            id: "output/mux", kind: .mux, parameters: StageParameters(mux), inputs: muxInputs, owners: ["output"]))
        return StageGraph(file: workflow.file, mode: mode, stages: state.stages, models: state.models)
    }

    /// A picture's `encodeText → denoise → decode` stages (a still, or a video shot's keyframe) under `prefix`;
    /// returns the decode stage's id.
    func imageStages(_ shot: Shot, _ settings: Resolved, reference: ModelReference, family: ModelFamily,
                             prefix: String, owner: String, state: inout BuildState) throws -> String {
        let text = state.add(Stage(
            id: "\(prefix)/encode-text", kind: .encodeText,
            model: try state.bind(reference, family, .textEncoder, provideModel),
            parameters: Self.parameters(["prompt": .string(shot.prompt), "negative": .string(shot.negative),
                                         "prompt_syntax": .string(shot.promptSyntax.rawValue),
                                         "cfg": .number(settings.cfg)], model: reference),
            owners: [owner], batchSignature: "encodeText"))
        let size = settings.size
        let denoise = state.add(Stage(
            id: "\(prefix)/denoise", kind: .denoise,
            model: try state.bind(reference, family, .denoiser, provideModel),
            parameters: Self.parameters(["width": .int(size.width), "height": .int(size.height),
                                         "steps": .int(settings.steps), "sampler": .string(settings.sampler),
                                         "cfg": .number(settings.cfg), "seed": .string(String(shot.seed))],
                                        model: reference),
            inputs: [text], seed: shot.seed, steps: settings.steps, owners: [owner],
            batchSignature: "denoise \(size) \(settings.steps) \(settings.sampler) \(settings.cfg)"))
        return state.add(Stage(
            id: "\(prefix)/decode", kind: .decode,
            model: try state.bind(reference, family, .decoder, provideModel),
            parameters: Self.parameters(["width": .int(size.width), "height": .int(size.height)],
                                        model: reference),
            inputs: [denoise], owners: [owner], batchSignature: "decode \(size)"))
    }

    /// A video or stream shot's model, checked: a reference a workflow can run (no single-file options, no LoRA) and
    /// a size its patch and VAE stride divide.
    struct CheckedVideoModel {
        /// The model's folder, read; nil when the graph is built without the files.
        var folder: VideoModelFolder?
    }

    /// `reference` checked for a video or stream shot at `settings.size`; nil (with the problem in `issues`, under
    /// `field`) when the workflow cannot run it so.
    func checkedVideoModel(_ settings: Resolved, reference: ModelReference, family: ModelFamily, field: String,
                           issues: inout [SourceIssue]) throws -> CheckedVideoModel? {
        func refuse(_ location: SourceLocation, _ path: String, _ message: String) -> CheckedVideoModel? {
            issues.append(SourceIssue(location: location, field: path, message: message))
            return nil
        }
        if reference.hasSingleFileOptions {
            return refuse(reference.location, "models.\(reference.name)", "'prediction', 'tokenizer' and 'config' "
                          + "apply to Stable Diffusion single-file checkpoints, not to a \(family.name) video model")
        }
        if let lora = reference.loras.first {
            return refuse(lora.location, lora.field, "LoRA adapters in a workflow apply to Stable Diffusion models; "
                          + "merge a video LoRA with `kinora video --lora`")
        }
        let folder = try videoFolder(reference, family)
        let multiple = folder?.sizeMultiple ?? family.latentScale * 2
        let size = settings.size
        if size.width % multiple != 0 || size.height % multiple != 0 {
            let (width, height) = (size.width / multiple * multiple, size.height / multiple * multiple)
            return refuse(settings.location, field + ".size", "\(size) is not a multiple of \(multiple) on both "
                          + "sides, as '\(reference.name)' (\(family.name)) needs; try "
                          + "\(max(multiple, width))x\(max(multiple, height))")
        }
        return CheckedVideoModel(folder: folder)
    }

    /// The most frames one clip may have: about two minutes at 16 fps (`kinora video`'s limit); longer shots are
    /// the autoregressive models' work.
    static let maximumClipFrames = 2001

    /// A video shot's stages: UMT5 text encoding, (with a `keyframe`) the keyframe's picture stages and its VAE
    /// encode, the clip's denoising and its streamed decode, then `conform` to the output's frame rate and size;
    /// returns the conform stage's id, or nil (with the problems in `issues`) when the model cannot make the clip.
    private func videoStages(_ shot: Shot, _ settings: Resolved, reference: ModelReference, family: ModelFamily,
                             owner: String, mode: RenderMode, workflow: Workflow, state: inout BuildState,
                             issues: inout [SourceIssue]) throws -> String? {
        let field = "\(owner).\(mode.rawValue)"
        func refuse(_ location: SourceLocation, _ path: String, _ message: String) -> String? {
            issues.append(SourceIssue(location: location, field: path, message: message))
            return nil
        }
        guard let checked = try checkedVideoModel(settings, reference: reference, family: family, field: field,
                                                  issues: &issues) else { return nil }
        let folder = checked.folder
        let temporal = folder?.temporalScale ?? family.latentTemporalScale
        let size = settings.size
        let frames = settings.frames
        if (frames - 1) % temporal != 0 {
            let below = max(1, (frames - 1) / temporal * temporal + 1)
            return refuse(settings.location, field + ".frames", "\(frames) frames is not of the form \(temporal)k + 1, "
                          + "as '\(reference.name)' needs (for example \(below) or \(below + temporal))")
        }
        if frames > Self.maximumClipFrames {
            return refuse(settings.location, field + ".frames", "a clip of \(frames) frames is longer than one "
                          + "generation makes (at most \(Self.maximumClipFrames)); split the shot")
        }

        var keyframeLatent: String?
        if let keyframe = shot.keyframe {
            // A keyframe by a model that makes no pictures is refused for that first (by `keyframeStages`).
            let picture = try workflow.model(named: keyframe.model).map { try catalog.family(of: $0).output }
            if let folder, !folder.takesKeyframe, picture == .image {
                return refuse(keyframe.location, "\(owner).keyframe", "'\(reference.name)' (\(family.name)) makes "
                              + "clips from text only; a keyframe needs an image-to-video model (Wan 2.2 TI2V: "
                              + "wan22-ti2v-5b, tiny-wan22)")
            }
            guard let latent = try keyframeStages(shot, keyframe, size: size, reference: reference, family: family,
                                                  owner: owner, mode: mode, workflow: workflow, state: &state,
                                                  issues: &issues) else { return nil }
            keyframeLatent = latent
        }

        let text = state.add(Stage(
            id: "\(shot.id)/encode-text", kind: .encodeText,
            model: try state.bind(reference, family, .textEncoder, provideModel),
            parameters: StageParameters(["prompt": .string(shot.prompt), "negative": .string(shot.negative),
                                         "guidance": .bool(settings.cfg > 1)]),
            owners: [owner]))
        // Clips that differ only in their prompts, seeds and keyframes' pictures denoise as one batch.
        let denoiser = try state.bind(reference, family, .denoiser, provideModel)
        let denoise = state.add(Stage(
            id: "\(shot.id)/denoise", kind: .denoise, model: denoiser,
            parameters: StageParameters([
                "width": .int(size.width), "height": .int(size.height), "frames": .int(frames),
                "steps": .int(settings.steps), "sampler": .string(settings.sampler), "cfg": .number(settings.cfg),
                "shift": .number(settings.shift), "seed": .string(String(shot.seed)),
            ]),
            inputs: [text] + (keyframeLatent.map { [$0] } ?? []), seed: shot.seed, steps: settings.steps,
            owners: [owner],
            batchSignature: "clip \(denoiser) \(size) \(frames) \(settings.steps) \(settings.sampler) "
                + "\(settings.shift) \(settings.cfg) \(keyframeLatent == nil ? "text" : "keyframe")"))
        let decode = state.add(Stage(
            id: "\(shot.id)/decode", kind: .decode,
            model: try state.bind(reference, family, .decoder, provideModel),
            parameters: StageParameters(["width": .int(size.width), "height": .int(size.height),
                                         "frames": .int(frames), "fps": .number(family.defaults.fps ?? 16)]),
            inputs: [denoise], steps: frames, unit: .frame, owners: [owner]))
        return try finishClip(shot, decode: decode, size: size, frames: frames, clipRate: family.defaults.fps ?? 16,
                              owner: owner, workflow: workflow, state: &state, issues: &issues)
    }

    /// A decoded clip's finishing stages: [upscale] → [interpolate] → conform to the output's frame rate and size;
    /// returns the conform stage's id, or nil (with the problems in `issues`).
    func finishClip(_ shot: Shot, decode: String, size: ImageSize, frames: Int, clipRate: Double, owner: String,
                    workflow: Workflow, state: inout BuildState, issues: inout [SourceIssue]) throws -> String? {
        var clip = (id: decode, width: size.width, height: size.height)
        if shot.upscale != nil {
            guard let upscaled = try upscaleStage(shot, input: decode, width: size.width, height: size.height,
                                                  clip: (frames, clipRate), owner: owner, workflow: workflow,
                                                  state: &state, issues: &issues) else { return nil }
            clip = upscaled
        }
        var rate = clipRate
        if let interpolate = shot.interpolate {
            guard let interpolated = try interpolateStage(shot, interpolate, input: clip, frames: frames,
                                                          clipRate: clipRate, owner: owner, workflow: workflow,
                                                          state: &state, issues: &issues) else { return nil }
            (clip.id, rate) = (interpolated, interpolate.fps.value)
        }
        let output = workflow.output
        let count = workflow.frameCount(of: shot)
        return state.add(Stage(
            id: "\(shot.id)/conform", kind: .conform,
            parameters: StageParameters([
                "frames": .int(count), "width": .int(output.size.width), "height": .int(output.size.height),
                "fps": .string(output.fps.description), "clip_fps": .number(rate),
            ]),
            inputs: [clip.id], steps: count, unit: .frame, owners: [owner]))
    }

    /// The output's `upscale` and `interpolate` on `cut`, the joined shots (`video/encode`), in that order: each
    /// reads the cut before it frame by frame and writes its own. Returns the id of the stage whose cut the mux
    /// encodes (`cut` itself without either); a problem goes into `issues`.
    private func outputStages(_ workflow: Workflow, cut: String, state: inout BuildState,
                              issues: inout [SourceIssue]) throws -> String {
        let output = workflow.output
        let frames = workflow.frameCount
        var video = (id: cut, width: output.size.width, height: output.size.height)
        // A refused upscale leaves the cut as it is, so the interpolation's problems are reported with its own.
        if let upscale = output.upscale, let upscaled = try upscaleStage(
            upscale, id: "output/upscale", input: cut, width: video.width, height: video.height,
            parameters: ["frames": .int(frames), "input": .string("cut"), "fps": .string(output.fps.description)],
            steps: frames, owner: "output", workflow: workflow, state: &state, issues: &issues) {
            video = upscaled
        }
        guard let interpolate = output.interpolate,
              let (reference, family) = try interpolator(interpolate, owner: "output", workflow: workflow,
                                                         issues: &issues) else { return video.id }
        // The cut's length at the new rate: the frames after its last frame's time hold that frame.
        let (source, target) = (output.fps, interpolate.fps)
        let scale = target.denominator * source.numerator
        let count = max(1, (2 * frames * target.numerator * source.denominator + scale) / (2 * scale))
        // A shot that begins with a cut is never morphed into from the shot before it.
        var cuts: [String] = []
        var start = 0
        for (index, shot) in workflow.shots.enumerated() {
            start -= shot.transition.overlap > 0 ? shot.transition.frames(at: source.value) : 0
            if index > 0, shot.transition == .cut { cuts.append(String(start)) }
            start += workflow.frameCount(of: shot)
        }
        return state.add(Stage(
            id: "output/interpolate", kind: .interpolate,
            model: try state.bind(reference, family, .interpolator, provideModel),
            parameters: StageParameters([
                "input": .string("cut"), "width": .int(video.width), "height": .int(video.height),
                "frames": .int(frames), "clip_fps": .string(source.description), "fps": .string(target.description),
                "output_frames": .int(count), "scene_threshold": .number(SceneCut.defaultThreshold),
                "cuts": .string(cuts.joined(separator: ",")),
            ]),
            inputs: [video.id], steps: count, unit: .frame, owners: ["output"]))
    }

    /// The stages of a clip's `keyframe`: the picture the image model makes at the clip's `size` from the shot's
    /// prompt and seed, and its encode by `reference`'s VAE (for a `stream`, the latent the stream starts from, which
    /// needs no image-to-video model); returns the encode's id, or nil (with the problem in `issues`) when the
    /// keyframe's model makes no images.
    func keyframeStages(_ shot: Shot, _ keyframe: GenerationSettings, size: ImageSize, reference: ModelReference,
                        family: ModelFamily, owner: String, mode: RenderMode, workflow: Workflow, stream: Bool = false,
                        state: inout BuildState, issues: inout [SourceIssue]) throws -> String? {
        guard let image = workflow.model(named: keyframe.model) else { return nil }
        let imageFamily = try catalog.family(of: image)
        guard imageFamily.output == .image else {
            issues.append(SourceIssue(location: keyframe.modelLocation, field: "\(owner).keyframe.model",
                                      message: "'\(image.name)' is a \(imageFamily.name) model, which makes "
                                      + "\(imageFamily.output.noun); a keyframe needs one that makes images"))
            return nil
        }
        let steps = keyframe.steps ?? imageFamily.defaults.steps ?? 25
        let picture = Resolved(
            model: keyframe.model, modelLocation: keyframe.modelLocation, location: keyframe.location,
            steps: mode == .draft ? min(steps, imageFamily.defaults.draftSteps ?? steps) : steps,
            sampler: keyframe.sampler ?? imageFamily.defaults.sampler ?? "euler", size: size,
            cfg: keyframe.cfg ?? imageFamily.defaults.cfg ?? 7.5, frames: 1, shift: 0)
        let decoded = try imageStages(shot, picture, reference: image, family: imageFamily,
                                      prefix: "\(shot.id)/keyframe", owner: owner, state: &state)
        return state.add(Stage(
            id: "\(shot.id)/encode-keyframe", kind: .encodeImage,
            model: try state.bind(reference, family, .decoder, provideModel),
            parameters: StageParameters(["width": .int(size.width), "height": .int(size.height)]
                                            .merging(stream ? ["stream": .bool(true)] : [:]) { $1 }),
            inputs: [decoded], owners: [owner]))
    }

    /// The `upscale` stage of `shot` on `input`, a picture of `width` × `height` (a still's decode), or with `clip`
    /// a clip of that many frames at that rate; returns its id and the size it makes, or nil (with the problem in
    /// `issues`) when its model makes no upscaled images or the result would be too large.
    func upscaleStage(_ shot: Shot, input: String, width: Int, height: Int, clip: (frames: Int, fps: Double)?,
                              owner: String, workflow: Workflow, state: inout BuildState,
                              issues: inout [SourceIssue]) throws -> (id: String, width: Int, height: Int)? {
        guard let upscale = shot.upscale else { return nil }
        var parameters: [String: StageParameters.Value] = [
            "frames": .int(clip?.frames ?? 1), "input": .string(clip == nil ? "picture" : "clip"),
        ]
        if let clip { parameters["fps"] = .number(clip.fps) }
        return try upscaleStage(upscale, id: "\(shot.id)/upscale", input: input, width: width, height: height,
                                parameters: parameters, steps: clip?.frames ?? 1, owner: owner, workflow: workflow,
                                state: &state, issues: &issues)
    }

    /// The `upscale` stage `id` (`upscale` of `owner`: a shot or the output) on `input`, a picture or clip of
    /// `width` × `height`, with `parameters` saying what the input is; returns its id and the size it makes, or nil
    /// (with the problem in `issues`) when its model makes no upscaled images or the result would be too large.
    private func upscaleStage(_ upscale: UpscaleSettings, id: String, input: String, width: Int, height: Int,
                              parameters extra: [String: StageParameters.Value], steps: Int, owner: String,
                              workflow: Workflow, state: inout BuildState,
                              issues: inout [SourceIssue]) throws -> (id: String, width: Int, height: Int)? {
        guard let reference = workflow.model(named: upscale.model) else { return nil }
        let family = try catalog.family(of: reference)
        guard family.output == .upscaledImage else {
            issues.append(SourceIssue(location: upscale.modelLocation, field: "\(owner).upscale.model",
                                      message: "'\(reference.name)' is a \(family.name) model, which makes "
                                      + "\(family.output.noun); upscaling needs one that makes upscaled images "
                                      + "(realesr-animevideov3, realesrgan-x4plus, realesrgan-x4plus-anime)"))
            return nil
        }
        let (outputWidth, outputHeight) = (width * upscale.scale, height * upscale.scale)
        let largest = Int(ValueBounds.frameSide.upperBound)
        guard max(outputWidth, outputHeight) <= largest else {
            issues.append(SourceIssue(location: upscale.location, field: "\(owner).upscale.scale",
                                      message: "\(width)x\(height) upscaled \(upscale.scale)× is "
                                      + "\(outputWidth)x\(outputHeight), larger than \(largest) pixels a side"))
            return nil
        }
        var parameters: [String: StageParameters.Value] = [
            "scale": .int(upscale.scale), "width": .int(width), "height": .int(height),
            "output_width": .int(outputWidth), "output_height": .int(outputHeight),
        ]
        parameters.merge(extra) { $1 }
        let added = state.add(Stage(
            id: id, kind: .upscale, model: try state.bind(reference, family, .upscaler, provideModel),
            parameters: StageParameters(parameters), inputs: [input], steps: steps,
            unit: extra["input"] == .string("picture") ? .step : .frame, owners: [owner]))
        return (added, outputWidth, outputHeight)
    }

    /// The model and family that run `interpolate` (of a shot or the output, `owner`); nil when none is declared
    /// (the workflow's validation says so) or, with the problem in `issues`, when its family makes no interpolated
    /// frames.
    private func interpolator(_ interpolate: InterpolationSettings, owner: String, workflow: Workflow,
                              issues: inout [SourceIssue]) throws -> (ModelReference, ModelFamily)? {
        guard let name = workflow.interpolatorName(for: interpolate), let reference = workflow.model(named: name) else {
            return nil
        }
        let family = try catalog.family(of: reference)
        guard family.output == .interpolatedFrames else {
            issues.append(SourceIssue(location: interpolate.modelLocation, field: "\(owner).interpolate.model",
                                      message: "'\(reference.name)' is a \(family.name) model, which makes "
                                      + "\(family.output.noun); interpolation needs one that makes interpolated "
                                      + "frames (rife)"))
            return nil
        }
        return (reference, family)
    }

    /// The `interpolate` stage raising `input`, a clip of `frames` frames at `clipRate`, to the shot's
    /// `interpolate.fps`; `input.id` itself, adding nothing, when the clip already plays at that rate (a final by a
    /// 24 fps model whose draft's model makes 16); nil (with the problem in `issues`) when its model makes no
    /// interpolated frames or the rate is below the clip's or above the output's.
    func interpolateStage(_ shot: Shot, _ interpolate: InterpolationSettings,
                          input: (id: String, width: Int, height: Int), frames: Int, clipRate: Double,
                          owner: String, workflow: Workflow, state: inout BuildState,
                          issues: inout [SourceIssue]) throws -> String? {
        guard let (reference, family) = try interpolator(interpolate, owner: owner, workflow: workflow,
                                                         issues: &issues) else { return nil }
        func refuse(_ location: SourceLocation, _ field: String, _ message: String) -> String? {
            issues.append(SourceIssue(location: location, field: "\(owner).interpolate.\(field)", message: message))
            return nil
        }
        let target = interpolate.fps
        let output = workflow.output.fps
        if target.value < clipRate - 1e-9 {
            return refuse(interpolate.location, "fps", "\(target) fps is below the clip's "
                          + "\(YAMLField.format(clipRate)) fps (the video model's rate); interpolation only adds "
                          + "frames")
        }
        if target.value > output.value + 1e-9 {
            return refuse(interpolate.location, "fps", "\(target) fps is above the output's \(output) fps: the cut "
                          + "would never show the extra frames; interpolate to \(output) at most")
        }
        if target.value <= clipRate + 1e-9 { return input.id }
        let source = try FrameRate(parsing: YAMLField.format(clipRate))
        let conversion = try FrameRateConversion(input: (source.numerator, source.denominator),
                                                 output: (target.numerator, target.denominator))
        let count = conversion.frames(inputCount: frames).count
        return state.add(Stage(
            id: "\(shot.id)/interpolate", kind: .interpolate,
            model: try state.bind(reference, family, .interpolator, provideModel),
            parameters: StageParameters([
                "width": .int(input.width), "height": .int(input.height), "frames": .int(frames),
                "clip_fps": .string(source.description), "fps": .string(target.description),
                "output_frames": .int(count), "scene_threshold": .number(SceneCut.defaultThreshold),
            ]),
            inputs: [input.id], steps: count, unit: .frame, owners: [owner]))
    }

    /// The `generateMusic` stage of a generated cue, or nil (with its problems in `issues`) when its model cannot make
    /// it: a model that makes no music, options that apply to image models, or more seconds than one generation of
    /// the model makes. Steps and guidance left out take the family's defaults; a draft takes
    /// `GeneratedMusic.draftSteps` of the steps.
    private func generate(_ cue: MusicCue, _ music: GeneratedMusic, owner: String, mode: RenderMode,
                          workflow: Workflow, state: inout BuildState, issues: inout [SourceIssue]) throws -> String? {
        guard let reference = workflow.model(named: music.model) else { return nil }
        let family = try catalog.family(of: reference)
        guard family.output == .music else {
            issues.append(SourceIssue(location: music.modelLocation, field: "\(owner).model",
                                      message: "'\(reference.name)' is a \(family.name) model, which makes "
                                      + "\(family.output.noun), not music"))
            return nil
        }
        if reference.hasSingleFileOptions {
            issues.append(SourceIssue(location: reference.location, field: "models.\(reference.name)",
                                      message: "'prediction', 'tokenizer' and 'config' apply to Stable Diffusion "
                                      + "single-file checkpoints, not to a \(family.name) music model"))
            return nil
        }
        if let lora = reference.loras.first {
            issues.append(SourceIssue(location: lora.location, field: lora.field,
                                      message: "LoRA adapters apply to Stable Diffusion models, not to a "
                                      + "\(family.name) music model; move 'loras' to an image model"))
            return nil
        }
        let model = try state.bind(reference, family, .music, provideModel)
        let folder = try musicFolder(reference, family)
        if let folder, music.seconds > folder.maximumSeconds + 1e-9 {
            issues.append(SourceIssue(
                location: music.secondsLocation, field: "\(owner).\(music.secondsField)",
                message: "asks for \(YAMLField.format(music.seconds)) s of music, but '\(reference.name)' "
                    + "(\(folder.kind.rawValue)) makes at most " + String(format: "%.2f", folder.maximumSeconds)
                    + " s in one generation; make the cue shorter, or generate a shorter piece and repeat it with "
                    + "'loop: true' and an 'end'"))
            return nil
        }
        if let folder, folder.kind == .musicGen, !music.negative.isEmpty {
            issues.append(SourceIssue(
                location: cue.location, field: "\(owner).negative",
                message: "'\(reference.name)' is a MusicGen model, which takes no negative prompt"))
            return nil
        }
        let finalSteps = music.steps ?? family.defaults.steps ?? 100
        let steps = mode == .draft ? GeneratedMusic.draftSteps(finalSteps) : finalSteps
        let cfg = music.cfg ?? family.defaults.cfg ?? 7
        return state.add(Stage(
            id: "\(cue.id)/generate", kind: .generateMusic, model: model,
            parameters: StageParameters([
                "prompt": .string(music.prompt), "negative": .string(music.negative),
                "seconds": .number(music.seconds), "steps": .int(steps), "cfg": .number(cfg),
                "seed": .string(String(music.seed)), "sample_rate": .int(workflow.output.sampleRate),
                "window_seconds": .number(folder?.generatedSeconds(for: music.seconds) ?? music.seconds),
            ]),
            seed: music.seed, steps: steps, owners: [owner]))
    }

    /// A shot's settings for `mode` with the family's defaults filled in.
    struct Resolved {
        var model: String
        var modelLocation: SourceLocation
        /// Where the settings' mapping is, for messages about its values.
        var location: SourceLocation
        var steps: Int
        var sampler: String
        var size: ImageSize
        var cfg: Double
        /// Video shots: the clip's frames and the flow shift.
        var frames: Int
        var shift: Double
    }

    /// `values` plus, when the model reference gives single-file options, those options: they change what the
    /// model computes, so they are part of the stage's cache key.
    static func parameters(_ values: [String: StageParameters.Value], model reference: ModelReference)
        -> StageParameters {
        var values = values
        if reference.hasSingleFileOptions { values["model_options"] = .string(reference.singleFileOptionsDescription) }
        return StageParameters(values)
    }

    /// The draft settings default to the final's model with the family's draft steps and half the size (a video
    /// shot's rounded down to the draft model's multiple, twice its latent scale, and at least 64). A video shot's
    /// frames default to its duration at the model's frame rate, rounded to the nearest `temporal_scale`·k + 1; a
    /// draft keeps the final's `frames` only when its model plays at the same rate (else the duration decides).
    func resolve(_ shot: Shot, mode: RenderMode, workflow: Workflow) throws -> Resolved {
        let final = shot.final
        let finalFamily = try workflow.model(named: final.model).map { try catalog.family(of: $0) }
        let finalSize = final.size ?? shot.size ?? workflow.output.size
        func frames(_ family: ModelFamily?) -> Int {
            let temporal = Double(max(1, family?.latentTemporalScale ?? 4))
            let native = shot.duration * (family?.defaults.fps ?? 16)
            return Int(max(0, ((native - 1) / temporal).rounded())) * Int(temporal) + 1
        }
        guard mode == .draft else {
            return Resolved(model: final.model, modelLocation: final.modelLocation, location: final.location,
                            steps: final.steps ?? finalFamily?.defaults.steps ?? 25,
                            sampler: final.sampler ?? finalFamily?.defaults.sampler ?? "euler", size: finalSize,
                            cfg: final.cfg ?? finalFamily?.defaults.cfg ?? 7.5,
                            frames: final.frames ?? frames(finalFamily),
                            shift: final.shift ?? finalFamily?.defaults.shift ?? 3)
        }
        let draft = shot.draft ?? GenerationSettings(model: final.model, location: final.location,
                                                      modelLocation: final.modelLocation)
        let family = try workflow.model(named: draft.model).map { try catalog.family(of: $0) }
        let steps = draft.steps ?? family?.defaults.draftSteps ?? max(1, (final.steps ?? 25) / 3)
        return Resolved(model: draft.model, modelLocation: draft.modelLocation, location: draft.location, steps: steps,
                        sampler: draft.sampler ?? final.sampler ?? family?.defaults.sampler ?? "euler",
                        size: draft.size ?? (shot.motion == .still
                            ? finalSize.halved : finalSize.halved(multiple: (family?.latentScale ?? 8) * 2)),
                        cfg: draft.cfg ?? final.cfg ?? family?.defaults.cfg ?? 7.5,
                        frames: draft.frames ?? (family?.defaults.fps == finalFamily?.defaults.fps ? final.frames : nil)
                            ?? frames(family),
                        shift: draft.shift ?? final.shift ?? family?.defaults.shift ?? 3)
    }

    /// The stages and models collected so far, with identical stages merged.
    struct BuildState {
        var stages: [Stage] = []
        var models: [String: any StageModel] = [:]
        var byWork: [String: Int] = [:]
        /// The reference each model key was first bound for, to catch one file bound with two sets of single-file
        /// options (the runner opens one pipeline per model key).
        var referenceByKey: [String: ModelReference] = [:]

        /// Binds `role` of `reference` and returns the model's key. Throws `StageGraphError.invalid` when the same
        /// weights were bound before by a reference with different single-file options.
        mutating func bind(_ reference: ModelReference, _ family: ModelFamily, _ role: ComponentRole,
                           _ provide: ModelProvider) throws -> String {
            let model = try provide(reference, family, role)
            let key = model.identity.key
            if let first = referenceByKey[key],
               first.singleFileOptionsDescription != reference.singleFileOptionsDescription {
                throw StageGraphError.invalid([SourceIssue(
                    location: reference.location, field: "models.\(reference.name)",
                    message: "'\(reference.name)' and '\(first.name)' are the same weights with different "
                        + "'prediction', 'tokenizer' or 'config'; give them one set of options")])
            }
            if models[key] == nil {
                models[key] = model
                referenceByKey[key] = reference
            }
            return key
        }

        /// Adds `stage`, or adds its owners to an identical stage already there; returns the id to depend on.
        mutating func add(_ stage: Stage) -> String {
            let work = [stage.kind.rawValue, stage.model ?? "", stage.parameters.canonical,
                        stage.inputs.joined(separator: "\u{1F}")].joined(separator: "\u{1E}")
            if let index = byWork[work] {
                stages[index].owners += stage.owners
                return stages[index].id
            }
            byWork[work] = stages.count
            stages.append(stage)
            return stage.id
        }
    }
}
