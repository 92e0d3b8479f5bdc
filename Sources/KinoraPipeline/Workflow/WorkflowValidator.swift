/// The checks that span fields: references to models, unique ids, and times that must fall inside the cut and not
/// collide.
struct WorkflowValidator {
    let workflow: Workflow

    /// The errors found, in file order; likely mistakes that are still valid are appended to `warnings`.
    func validate(warnings: inout [SourceIssue]) -> [SourceIssue] {
        var errors: [SourceIssue] = []
        func error(_ location: SourceLocation, _ field: String, _ message: String) {
            errors.append(SourceIssue(location: location, field: field, message: message))
        }
        let names = workflow.models.map(\.name)
        var used: Set<String> = []
        func reference(_ name: String, _ location: SourceLocation, _ field: String) {
            used.insert(name)
            if workflow.model(named: name) == nil {
                error(location, field, "no model named '\(name)'\(Suggestion.hint(for: name, in: names)); "
                      + "models: \(names.joined(separator: ", "))")
            }
        }

        func interpolator(_ interpolate: InterpolationSettings?, _ path: String) {
            guard let interpolate else { return }
            if let name = workflow.interpolatorName(for: interpolate) {
                reference(name, interpolate.modelLocation, path + ".interpolate.model")
            } else {
                let family = InterpolationSettings.defaultFamily
                let count = workflow.models.filter { $0.family == family }.count
                error(interpolate.location, path + ".interpolate.model", count == 0
                      ? "no interpolator: name one with 'model', or declare one such as '\(family): "
                        + "{catalog: \(family)}' in models"
                      : "\(count) models of the \(family) family are declared; name one with 'model'")
            }
        }

        var ids: [String: String] = [:]
        func unique(_ id: String, _ location: SourceLocation, _ field: String) {
            if let first = ids[id] {
                error(location, field, "id '\(id)' is already used by \(first)")
            } else {
                ids[id] = field
            }
        }

        for (index, shot) in workflow.shots.enumerated() {
            let path = "shots[\(index)]"
            unique(shot.id, shot.location, path + ".id")
            reference(shot.final.model, shot.final.modelLocation, path + ".final.model")
            if let draft = shot.draft {
                reference(draft.model, draft.modelLocation, path + ".draft.model")
            }
            if let keyframe = shot.keyframe {
                reference(keyframe.model, keyframe.modelLocation, path + ".keyframe.model")
            }
            if let upscale = shot.upscale {
                reference(upscale.model, upscale.modelLocation, path + ".upscale.model")
            }
            interpolator(shot.interpolate, path)
        }
        let output = workflow.output
        if let upscale = output.upscale {
            reference(upscale.model, upscale.modelLocation, "output.upscale.model")
        }
        interpolator(output.interpolate, "output")
        if let interpolate = output.interpolate, interpolate.fps.value <= output.fps.value + 1e-9 {
            error(interpolate.location, "output.interpolate.fps", "\(interpolate.fps) fps is not above the output's "
                  + "\(output.fps) fps (the rate the shots are joined at); interpolation only adds frames")
        }

        checkTransitions(error: error)

        let total = workflow.duration
        let totalText = YAMLField.format(total)
        for (index, line) in workflow.voiceLines.enumerated() {
            let path = "voices[\(index)]"
            unique(line.id, line.location, path + ".id")
            reference(line.voice, line.voiceLocation, path + ".voice")
            if line.start >= total {
                error(line.location, path + ".start", "starts at \(YAMLField.format(line.start)) s, at or after "
                      + "the end of the cut (\(totalText) s, the shots' total duration)")
            } else if let end = line.end, end > total {
                error(line.location, path + ".end", "ends at \(YAMLField.format(end)) s, after the end of the cut "
                      + "(\(totalText) s)")
            }
        }
        checkVoiceOverlaps(error: error, warnings: &warnings)
        if workflow.output.subtitles != .off, workflow.voiceLines.isEmpty {
            let outcome = workflow.output.subtitles == .soft ? "the file gets no subtitle track" : "nothing is drawn"
            warnings.append(SourceIssue(location: workflow.output.location, field: "output.subtitles",
                                        message: "\(workflow.output.subtitles.rawValue) subtitles come from the voice "
                                        + "lines, and there are none: \(outcome)"))
        }

        for (index, cue) in workflow.musicCues.enumerated() {
            let path = "music[\(index)]"
            unique(cue.id, cue.location, path + ".id")
            if let music = cue.generated {
                reference(music.model, music.modelLocation, path + ".model")
            }
            if cue.start >= total {
                error(cue.location, path + ".start", "starts at \(YAMLField.format(cue.start)) s, at or after the "
                      + "end of the cut (\(totalText) s)")
            } else if let end = cue.end, end > total {
                error(cue.location, path + ".end", "ends at \(YAMLField.format(end)) s, after the end of the cut "
                      + "(\(totalText) s)")
            }
        }

        for model in workflow.models where !used.contains(model.name) {
            warnings.append(SourceIssue(location: model.location, field: "models.\(model.name)",
                                        message: "no shot, voice line or music cue uses this model"))
        }
        return errors.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }

    /// A transition needs a shot before it, and the frames it takes from each shot (a crossfade's all, a fade's
    /// half each side) must be there: not more than the shot has, less what the shot's own incoming transition took.
    private func checkTransitions(error: (SourceLocation, String, String) -> Void) {
        let fps = workflow.output.fps.value
        let shots = workflow.shots
        for (index, shot) in shots.enumerated() where shot.transition != .cut {
            let field = "shots[\(index)].transition"
            let transition = shot.transition
            let name = transition.overlap > 0 ? "crossfade" : "fade"
            let length = "\(YAMLField.format(transition.seconds)) s (\(transition.frames(at: fps)) frames)"
            guard index > 0 else {
                error(shot.transitionLocation, field, "the first shot has no shot before it to \(name) from; "
                      + "leave its transition out (or write cut)")
                continue
            }
            func frames(_ count: Int) -> String { count == 1 ? "1 frame" : "\(count) frames" }
            let incoming = transition.incomingFrames(at: fps), ownFrames = workflow.frameCount(of: shot)
            if incoming > ownFrames {
                error(shot.transitionLocation, field, "a \(name) of \(length) needs \(frames(incoming)) of "
                      + "'\(shot.id)', which has \(frames(ownFrames)) (\(YAMLField.format(shot.duration)) s)")
                continue
            }
            let previous = shots[index - 1]
            let taken = previous.transition.incomingFrames(at: fps)
            let outgoing = transition.outgoingFrames(at: fps), left = workflow.frameCount(of: previous) - taken
            if outgoing > left {
                let own = taken > 0 ? ", after the \(frames(taken)) its own transition takes" : ""
                error(shot.transitionLocation, field, "a \(name) of \(length) needs the last \(frames(outgoing)) "
                      + "of '\(previous.id)' (shots[\(index - 1)]), which has \(frames(max(0, left)))\(own) "
                      + "(\(YAMLField.format(previous.duration)) s)")
            }
        }
    }

    /// Two lines of the same voice and speaker cannot play at once: an error when a line starts before the previous
    /// one's given `end` (or at the same moment), a warning when it starts before its estimated spoken length is up.
    private func checkVoiceOverlaps(error: (SourceLocation, String, String) -> Void, warnings: inout [SourceIssue]) {
        let indexed = workflow.voiceLines.enumerated().sorted {
            ($0.element.start, $0.offset) < ($1.element.start, $1.offset)
        }
        var lastByTrack: [String: (index: Int, line: VoiceLine)] = [:]
        for (index, line) in indexed {
            let track = "\(line.voice)/\(line.speaker.map { "\($0)" } ?? "-")"
            defer { lastByTrack[track] = (index, line) }
            guard let previous = lastByTrack[track] else { continue }
            let field = "voices[\(index)].start"
            let start = YAMLField.format(line.start)
            if previous.line.start == line.start {
                error(line.location, field, "starts at \(start) s, the same moment as voices[\(previous.index)] "
                      + "('\(previous.line.id)') in the same voice")
            } else if let end = previous.line.end, end > line.start {
                error(line.location, field, "starts at \(start) s, before voices[\(previous.index)] "
                      + "('\(previous.line.id)') ends at \(YAMLField.format(end)) s")
            } else if previous.line.end == nil, previous.line.start + previous.line.estimatedDuration > line.start {
                let estimate = ((previous.line.start + previous.line.estimatedDuration) * 10).rounded() / 10
                warnings.append(SourceIssue(location: line.location, field: field, message: "starts at \(start) s, "
                    + "but voices[\(previous.index)] ('\(previous.line.id)') probably runs until about "
                    + "\(YAMLField.format(estimate)) s; give it an 'end' or move this line"))
            }
        }
    }
}
