import KinoraModels
import KinoraTensor

extension StageGraphBuilder {
    /// A stream shot's stages: UMT5 text encoding of each prompt the stream follows (the shot's and those of its
    /// `prompts` schedule that take effect), with a `keyframe` its picture's stages and VAE encode, then one `denoise`
    /// stage per chunk of the causal Wan, each chaining the chunk before it (so its key does, and a chunk is cached
    /// the moment it is made and an edit late in the schedule keeps the chunks before it), one streamed `decode` of
    /// every chunk into the clip, then the clip's finishing to the output as a video shot's. Returns the conform
    /// stage's id, or nil (with the problems in `issues`) when the model cannot make the stream.
    func streamStages(_ shot: Shot, _ settings: Resolved, reference: ModelReference, family: ModelFamily,
                      owner: String, mode: RenderMode, workflow: Workflow, state: inout BuildState,
                      issues: inout [SourceIssue]) throws -> String? {
        let field = "\(owner).\(mode.rawValue)"
        func refuse(_ location: SourceLocation, _ path: String, _ message: String) -> String? {
            issues.append(SourceIssue(location: location, field: path, message: message))
            return nil
        }
        // The causal models (Self-Forcing, CausVid, LongLive) are Wan 2.1's architecture: its 8x VAE and patches.
        guard family.latentScale == 8 else {
            return refuse(settings.modelLocation, field + ".model", "'\(reference.name)' is a \(family.name) model, "
                          + "whose VAE compresses by \(family.latentScale); a stream needs a causal Wan of Wan 2.1's "
                          + "architecture (Self-Forcing, CausVid: wan21-t2v-1.3b's layout, or tiny-wan21-causal)")
        }
        guard let checked = try checkedVideoModel(settings, reference: reference, family: family, field: field,
                                                  issues: &issues) else { return nil }
        let folder = checked.folder
        if let problem = notCausal(reference, family: family, folder: folder) {
            return refuse(settings.modelLocation, field + ".model", problem)
        }
        let size = settings.size
        let given = mode == .draft ? shot.draft : nil
        let chunkFrames = given?.chunkFrames ?? shot.final.chunkFrames ?? 3
        let scheduleName = given?.schedule ?? shot.final.schedule ?? "self-forcing"
        let schedule: CausalDenoisingSchedule = scheduleName == "causvid" ? .causVid : .selfForcing
        let clipRate = family.defaults.fps ?? 16
        let layout = StreamLayout(duration: shot.duration, fps: clipRate,
                                  temporal: folder?.temporalScale ?? family.latentTemporalScale,
                                  chunkFrames: chunkFrames, startPicture: shot.keyframe != nil)
        // A stream longer than the models were trained on rolls a window of what they were trained on.
        // Unless the settings ask for one: `window` latent frames with a `sink` (one chunk unless given).
        let window: WanAttentionWindow?
        let asked = (window: given?.window ?? shot.final.window, sink: given?.sink ?? shot.final.sink)
        let windowLocation = given?.window != nil ? given?.location ?? settings.location : shot.final.location
        if let frames = asked.window {
            guard frames > chunkFrames else {
                return refuse(windowLocation, field + ".window", "a window of \(frames) latent frames must hold "
                              + "more than a chunk (\(chunkFrames) latent frames, chunk_frames)")
            }
            let sink = asked.sink ?? min(chunkFrames, frames - 1)
            guard sink < frames - chunkFrames + 1 else {
                return refuse(windowLocation, field + ".sink", "a sink of \(sink) latent frames leaves no room in a "
                              + "window of \(frames) for a chunk of \(chunkFrames) beside it")
            }
            window = try WanAttentionWindow(frames: frames, sinkFrames: sink)
        } else if asked.sink != nil {
            return refuse(windowLocation, field + ".sink", "a sink is the start of a window: give 'window' too")
        } else {
            window = try WanAttentionWindow.automatic(latentFrames: layout.latentFrames, chunkFrames: chunkFrames)
        }
        let kvCache = given?.kvCache ?? shot.final.kvCache ?? "f16"
        // The decoder's feature cache follows the KV cache's type, as in `kinora video --autoregressive`.
        let featureCache = WanStreamRequest.decoderCacheType(following: DType(rawValue: kvCache) ?? .f16)

        // A switch no chunk starts after, or one a later switch overtakes before the next chunk, would never be seen.
        let prompts = layout.prompts(shot.prompts)
        for (entry, change) in shot.prompts.enumerated() where !prompts.contains(entry) {
            let next = (0..<layout.chunks).first { layout.seconds(ofChunk: $0) >= change.at - 1e-9 }
            let reason = next.map {
                "a later entry takes over before chunk \($0 + 1), the first to start after it (at "
                    + String(format: "%.2f s)", layout.seconds(ofChunk: $0))
            } ?? ("no chunk starts after it: the last starts at "
                    + String(format: "%.2f s", layout.seconds(ofChunk: layout.chunks - 1)))
            return refuse(change.location, "\(owner).prompts[\(entry)].at", "the stream would never follow "
                          + "'\(change.prompt)': \(reason); move it, or make the shot longer")
        }

        var keyframeLatent: String?
        if let keyframe = shot.keyframe {
            guard let latent = try keyframeStages(shot, keyframe, size: size, reference: reference, family: family,
                                                  owner: owner, mode: mode, workflow: workflow, stream: true,
                                                  state: &state, issues: &issues) else { return nil }
            keyframeLatent = latent
        }
        let textEncoder = try state.bind(reference, family, .textEncoder, provideModel)
        var texts: [Int?: String] = [:]
        func text(_ entry: Int?) -> String {
            if let known = texts[entry] { return known }
            let prompt = entry.map { shot.prompts[$0].prompt } ?? shot.prompt
            let id = state.add(Stage(
                id: "\(shot.id)/encode-text" + (entry.map { "-\($0 + 2)" } ?? ""), kind: .encodeText,
                model: textEncoder,
                parameters: StageParameters(["prompt": .string(prompt), "negative": .string(""),
                                             "guidance": .bool(false)]),
                owners: [owner]))
            texts[entry] = id
            return id
        }

        let denoiser = try state.bind(reference, family, .denoiser, provideModel)
        var chunks: [String] = []
        chunks.reserveCapacity(layout.chunks)
        var promptFrom = 0
        for index in 0..<layout.chunks {
            if index > 0, prompts[index] != prompts[index - 1] { promptFrom = index }
            let frames = layout.frames(ofChunk: index)
            chunks.append(state.add(Stage(
                id: "\(shot.id)/chunk-\(index + 1)", kind: .denoise, model: denoiser,
                parameters: StageParameters([
                    "width": .int(size.width), "height": .int(size.height), "chunk": .int(index),
                    "chunk_frames": .int(chunkFrames), "frames": .int(frames), "schedule": .string(scheduleName),
                    "steps": .int(schedule.timesteps.count), "cfg": .number(1), "prompt_from": .int(promptFrom),
                    "window": .int(window?.frames ?? 0), "sink": .int(window?.sinkFrames ?? 0),
                    "kv_cache": .string(kvCache), "keyframe": .bool(keyframeLatent != nil),
                    "seed": .string(String(shot.seed)),
                ]),
                inputs: [text(prompts[index])] + (keyframeLatent.map { [$0] } ?? []) + chunks.suffix(1),
                seed: shot.seed, steps: frames, unit: .frame, owners: [owner])))
        }
        let decode = state.add(Stage(
            id: "\(shot.id)/decode", kind: .decode,
            model: try state.bind(reference, family, .decoder, provideModel),
            parameters: StageParameters([
                "width": .int(size.width), "height": .int(size.height), "frames": .int(layout.videoFrames),
                "fps": .number(clipRate), "stream": .bool(true), "chunks": .int(layout.chunks),
                "keyframe": .bool(keyframeLatent != nil), "feature_cache": .string(featureCache.rawValue),
            ]),
            inputs: (keyframeLatent.map { [$0] } ?? []) + chunks, steps: layout.videoFrames, unit: .frame,
            owners: [owner]))
        return try finishClip(shot, decode: decode, size: size, frames: layout.videoFrames, clipRate: clipRate,
                              owner: owner, workflow: workflow, state: &state, issues: &issues)
    }

    /// Why `reference` cannot make a stream, or nil when its weights are causal: its family is autoregressive in the
    /// catalog, or it is given by path as a causal model's training checkpoint (its generator's weights under
    /// `generator_ema` or `generator`). A clip model (a family without `autoregressive: true`) runs a stream, but what
    /// it makes is nonsense; nothing in a diffusers folder or a plain transformer file says which it holds, so such a
    /// model must be declared with an autoregressive family of its architecture.
    func notCausal(_ reference: ModelReference, family: ModelFamily, folder: VideoModelFolder?) -> String? {
        if family.autoregressive { return nil }
        if case .path = reference.source, folder?.isTrainingCheckpoint == true { return nil }
        let causal = catalog.families.filter {
            $0.autoregressive && $0.latentScale == family.latentScale && $0.latentChannels == family.latentChannels
        }
        let names = (causal.filter { $0.testOnly == family.testOnly }
                     + causal.filter { $0.testOnly != family.testOnly }).map(\.name)
        let suggested = names.first ?? "an autoregressive family"
        switch reference.source {
        case .catalog:
            return "'\(reference.name)' is a \(family.name) model, a clip model whose transformer sees the whole clip "
                + "at once: a stream needs a causal (autoregressive) Wan, a family whose catalog entry says "
                + "autoregressive: true" + (names.isEmpty ? "" : " (\(names.joined(separator: ", ")))")
                + "; make the shot motion: video, or give it such a model"
        case .path(let path):
            let what = folder.map { $0.base == nil ? "its diffusers folder" : "its single transformer file" }
                ?? "its files"
            return "'\(reference.name)' (\(path)) is declared \(family.name), a clip model's family, and nothing in "
                + "\(what) says its transformer is causal: if it holds a causal model's weights (Self-Forcing, "
                + "CausVid, LongLive), declare it with family: \(suggested) in its models entry; a clip model's "
                + "weights make no stream"
        }
    }
}
