import Foundation
import KinoraMedia

/// The host stages that make the cut: a still's frames, the shots joined, the music loaded, the mix and the final
/// file.
///
/// Results on disk: `animate` writes the shot's frames (`frames.mkv`) and `encode-video` the whole cut's
/// (`video.mkv`), both FFV1, lossless 8-bit RGB, so they decode to exactly the frames that were made; `load` and
/// `mix` write 32-bit float WAV (`audio.wav`, `mix.wav`; a generated cue's `audio.wav` comes from `generateMusic`);
/// `mux` writes the final file (`output.<ext>`) in the output's codec with the mix muxed alongside, trimmed or padded
/// to the video's duration. Frames stream from file to encoder, a cue's file is resampled block by block, the mix is
/// made block by block from its lines' and cues' files and the mux reads it in pieces, so memory stays flat however
/// long the cut or its cues.
extension ChainStageRunner {
    var frameRate: FrameRate {
        get throws { try FrameRate(workflow.output.fps.numerator, workflow.output.fps.denominator) }
    }

    func animate(_ stage: Stage, still: URL, into folder: URL, progress: (Int) -> Void) throws {
        let shot = workflow.shots[try ownerIndex(stage, prefix: "shots")]
        let (image, shape) = try readFinite("image.kf32", in: still, for: stage)
        guard shape.count == 3 else {
            throw RunnerError.unsupported(stage: stage.id,
                                          reason: "expected a [3, height, width] picture, got \(shape)")
        }
        let width = try int(stage, "width"), height = try int(stage, "height"), count = try int(stage, "frames")
        let animator = try StillAnimator(image: image, width: shape[2], height: shape[1], move: shot.camera,
                                         outputWidth: width, outputHeight: height)
        let writer = try VideoWriter(url: folder.appendingPathComponent("frames.mkv"),
                                     settings: VideoSettings(codec: .ffv1, frameRate: frameRate))
        for index in 0..<count {
            try writer.append(frame: VideoFrame(width: width, height: height, rgb8: animator.frame(index, of: count)))
            progress(index + 1)
        }
        try writer.finish()
    }

    /// Joins the shots' frames into the cut with each shot's transition in (the stage's `transitions`: one per
    /// input, `cut` for all when absent), streaming: only the frames a transition overlaps are held.
    func joinShots(_ stage: Stage, shots: [URL], into folder: URL, progress: (Int) -> Void) throws {
        let written = stage.parameters.string("transitions")?.split(separator: ",")
            ?? Array(repeating: "cut", count: shots.count)
        let transitions = written.compactMap(ShotJoiner.Transition.init(parameter:))
        guard transitions.count == shots.count, transitions.first ?? .cut == .cut else {
            throw RunnerError.unsupported(stage: stage.id, reason: "transitions '\(written.joined(separator: ","))' "
                                          + "do not fit its \(shots.count) shots")
        }
        let writer = try VideoWriter(url: folder.appendingPathComponent("video.mkv"),
                                     settings: VideoSettings(codec: .ffv1, frameRate: frameRate))
        try withoutActuallyEscaping(progress) { progress in
            var joiner = ShotJoiner(transitions: transitions) { frame in
                try writer.append(frame: frame)
                progress(writer.frameCount)
            }
            do {
                for shot in shots {
                    try joiner.beginShot()
                    let reader = try VideoReader(url: file("frames.mkv", in: shot, for: stage))
                    while let frame = try reader.nextFrame() {
                        try joiner.append(frame)
                    }
                }
                try joiner.finish()
            } catch let short as ShotJoiner.ShortShot {
                throw RunnerError.unsupported(stage: stage.id, reason: short.description)
            }
        }
        try writer.finish()
    }

    /// Converts a cue's file to the stage's sample rate as `audio.wav`, a block at a time; NaN or infinite samples
    /// (a broken float file) fail the stage, naming the file.
    func loadAudio(_ stage: Stage, into folder: URL) throws {
        let cue = workflow.musicCues[try ownerIndex(stage, prefix: "music")]
        guard let file = cue.file else {
            throw RunnerError.unsupported(stage: stage.id, reason: "cue '\(cue.id)' is generated, not a file")
        }
        let source = file.hasPrefix("/") ? URL(fileURLWithPath: file) : workflowFolder.appendingPathComponent(file)
        let rate = try int(stage, "sample_rate")
        let reader = try AudioFileReader(url: source)
        let audio: AudioSource = reader.sampleRate == rate ? reader : try ResampledSource(reader, to: rate)
        let writer = try AudioFileWriter(url: folder.appendingPathComponent("audio.wav"), format: .wavFloat,
                                         sampleRate: rate, channels: audio.channels)
        var nonFinite = 0
        while case let block = try audio.read(frames: 65536), !block.isEmpty {
            nonFinite += block.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
            try writer.append(block)
        }
        guard nonFinite == 0 else {
            throw RunnerError.nonFinite(stage: stage.id, result: "audio (from \(source.path))", count: nonFinite,
                                        total: writer.frameCount * audio.channels, model: nil, weights: nil)
        }
        try writer.finish()
    }

    /// Places every voice line and music cue (inputs in the workflow's order: lines, then cues), ducks the music
    /// under the voices and normalises the loudness to the output's target. The mix is made and written block by
    /// block, each line and cue read from its file as the blocks reach it (a looped cue read again from its start),
    /// so memory grows neither with the timeline nor with the cues' length.
    func mix(_ stage: Stage, stems: [URL], into folder: URL) throws {
        let lines = workflow.voiceLines, cues = workflow.musicCues
        guard stems.count == lines.count + cues.count else {
            throw RunnerError.mixInputs(expected: lines.count + cues.count, got: stems.count)
        }
        var tracks: [MixTrack] = []
        for (line, stem) in zip(lines, stems) {
            let speech = try file("speech.wav", in: stem, for: stage)
            let header = try AudioFileReader(url: speech)
            let seconds = Double(header.frameCount) / Double(header.sampleRate)
            if let end = line.end, line.start + seconds > end + 1e-3 {
                note(String(format: "voice line '%@' lasts %.2f s and ends at %.2f s, after its end at %.2f s",
                            line.id, seconds, line.start + seconds, end))
            }
            tracks.append(MixTrack(name: line.id, source: .file(speech), role: .voice, start: line.start,
                                   gainDB: line.gain))
        }
        let duration = workflow.duration
        for (cue, stem) in zip(cues, stems.dropFirst(lines.count)) {
            let music = try file("audio.wav", in: stem, for: stage)
            tracks.append(MixTrack(name: cue.id, source: .file(music), role: .music, start: cue.start,
                                   gainDB: cue.gain, fadeIn: cue.fadeIn, fadeOut: cue.fadeOut,
                                   length: max(0, min(cue.end ?? duration, duration) - cue.start), loop: cue.loop))
        }
        let output = workflow.output
        let mixer = Mixer(settings: KinoraMedia.MixSettings(
            sampleRate: output.sampleRate, channels: 2, ducking: workflow.mix.ducking,
            loudnessTarget: workflow.mix.normalize ? output.loudness : nil, truePeakCeiling: output.truePeak,
            duration: duration))
        let writer = try AudioFileWriter(url: folder.appendingPathComponent("mix.wav"), format: .wavFloat,
                                         sampleRate: output.sampleRate, channels: 2)
        var nonFinite = 0
        let mixed = try mixer.mix(tracks, scratchDirectory: folder) { block in
            nonFinite += block.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
            try writer.append(block)
        }
        guard nonFinite == 0 else {
            throw RunnerError.nonFinite(stage: stage.id, result: "mix", count: nonFinite, total: mixed.frameCount * 2,
                                        model: nil, weights: nil)
        }
        try writer.finish()
    }

    /// Encodes the cut in the output's codec with the mix, into `output.<container>`: the stage's `container`
    /// parameter, the extension of the file the render writes (`-o` when given, else the workflow's `output.file`).
    ///
    /// With `subtitles` soft or burned, `speeches` are the voice lines' `speak` results in the workflow's order: each
    /// line becomes a cue of its text from its start for as long as its speech lasts (cut at the end of the video),
    /// in a subtitle track (soft) or drawn into the frames as they are encoded (burned, `SubtitleBurner`). The cut is
    /// encoded at the stage's `fps` when given (an interpolated output), else at the output's.
    func mux(_ stage: Stage, video: URL, audio: URL?, speeches: [URL], into folder: URL) throws {
        let output = workflow.output
        let mix = try audio.map { try AudioFileReader(url: file("mix.wav", in: $0, for: stage)) }
        let name = "output." + (try string(stage, "container"))
        let rate = try stage.parameters.string("fps").map { try FrameRate(parsing: $0) } ?? frameRate
        let subtitles = stage.parameters.string("subtitles").flatMap(OutputSettings.Subtitles.init(rawValue:))
        var cues: [SubtitleCue] = []
        if let subtitles, subtitles != .off {
            let lines = workflow.voiceLines
            guard speeches.count == lines.count else {
                throw RunnerError.unsupported(stage: stage.id, reason: "\(lines.count) voice lines make subtitles, "
                                              + "but it has \(speeches.count) speech inputs")
            }
            let end = stage.parameters.number("duration") ?? workflow.duration
            for (line, speech) in zip(lines, speeches) {
                let spoken = try AudioFile.read(file("speech.wav", in: speech, for: stage)).duration
                let stop = min(line.start + spoken, end)
                guard stop > line.start else { continue }
                cues.append(try SubtitleCue(start: line.start, end: stop, text: line.text))
            }
        }
        let writer = try VideoWriter(
            url: folder.appendingPathComponent(name),
            settings: VideoSettings(codec: VideoCodec(parsing: output.codec.rawValue), frameRate: rate,
                                    crf: output.crf),
            audioSource: mix, subtitles: subtitles == .soft ? cues : [])
        let reader = try VideoReader(url: file("video.mkv", in: video, for: stage))
        let burner = try subtitles == .burned
            ? SubtitleBurner(cues: cues, width: reader.width, height: reader.height, frameRate: rate) : nil
        while let frame = try reader.nextFrame() {
            try writer.append(frame: burner?.burn(frame) ?? frame)
        }
        try writer.finish()
    }
}
