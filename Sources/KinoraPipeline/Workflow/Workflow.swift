import Foundation
import KinoraMedia

/// A creator's workflow file as typed, validated specs: the output, the named models, the shots (played back to
/// back), the voice lines and music cues placed on the same timeline, and the mix.
public struct Workflow: Sendable, Hashable {
    /// The file name used in messages (and the folder relative paths are resolved against).
    public var file: String
    public var output: OutputSettings
    /// In file order.
    public var models: [ModelReference]
    public var shots: [Shot]
    public var voiceLines: [VoiceLine]
    public var musicCues: [MusicCue]
    public var mix: MixSettings
    /// Things that are allowed but probably wrong (an unused model, lines that may overlap when spoken).
    public var warnings: [SourceIssue]

    public init(file: String, output: OutputSettings, models: [ModelReference], shots: [Shot],
                voiceLines: [VoiceLine] = [], musicCues: [MusicCue] = [], mix: MixSettings = MixSettings(),
                warnings: [SourceIssue] = []) {
        self.file = file
        self.output = output
        self.models = models
        self.shots = shots
        self.voiceLines = voiceLines
        self.musicCues = musicCues
        self.mix = mix
        self.warnings = warnings
    }

    /// The format version this library reads.
    public static let formatVersion = 1

    /// The length of the cut: the shots' durations added up, less the crossfades' overlaps.
    public var duration: Double { shots.reduce(0) { $0 + $1.duration - $1.transition.overlap } }

    /// When each shot starts, in seconds from the start of the cut: a crossfade starts its shot its length before
    /// the shot before it ends.
    public var shotStarts: [Double] {
        var starts: [Double] = []
        var time = 0.0
        for shot in shots {
            time -= shot.transition.overlap
            starts.append(time)
            time += shot.duration
        }
        return starts
    }

    /// The frames `shot` is made of at the output's rate (at least one).
    public func frameCount(of shot: Shot) -> Int {
        max(1, Int((shot.duration * output.fps.value).rounded()))
    }

    /// The frames of the cut: the shots' frames less the crossfades' overlapping ones.
    public var frameCount: Int {
        let fps = output.fps.value
        return shots.reduce(0) { total, shot in
            let overlap = shot.transition.overlap > 0 ? shot.transition.frames(at: fps) : 0
            return total + frameCount(of: shot) - overlap
        }
    }

    /// The model named `name`.
    public func model(named name: String) -> ModelReference? {
        models.first { $0.name == name }
    }

    /// The name of the model that interpolates `shot`'s clip: its `interpolate.model`, else the workflow's only
    /// model of the `rife` family; nil when the shot does not interpolate or no such model is declared.
    public func interpolatorName(for shot: Shot) -> String? {
        interpolatorName(for: shot.interpolate)
    }

    /// The name of the model that runs `interpolate` (a shot's or the output's): its `model`, else the workflow's
    /// only model of the `rife` family; nil when `interpolate` is nil or no such model is declared.
    public func interpolatorName(for interpolate: InterpolationSettings?) -> String? {
        guard let interpolate else { return nil }
        if let model = interpolate.model { return model }
        let candidates = models.filter { $0.family == InterpolationSettings.defaultFamily }
        return candidates.count == 1 ? candidates[0].name : nil
    }

    /// Reads and validates the workflow at `url`. Throws `WorkflowError` naming the file, line and field of every
    /// problem.
    public static func load(contentsOf url: URL) throws -> Workflow {
        let text: String
        do {
            try InputFile.requireRegular(url)
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw WorkflowError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try parse(text, file: url.path)
    }

    /// Reads and validates workflow `text`; `file` names it in messages.
    public static func parse(_ text: String, file: String) throws -> Workflow {
        let document = try YAMLDocument(text: text, file: file)
        let workflow = WorkflowReader(document: document).read()
        if let workflow, document.issues.isEmpty {
            var validated = workflow
            let issues = WorkflowValidator(workflow: workflow).validate(warnings: &validated.warnings)
            guard issues.isEmpty else { throw WorkflowError.invalid(issues) }
            return validated
        }
        guard !document.issues.isEmpty else {
            throw WorkflowError.invalid([SourceIssue(location: SourceLocation(file: file, line: 1, column: 1),
                                                     field: "(document)", message: "the file is empty")])
        }
        throw WorkflowError.invalid(document.sortedIssues)
    }
}
