/// One entry of a stream shot's `prompts`: from `at` seconds into the shot, the stream follows `prompt` (LongLive's
/// prompt switch, `kinora video --prompt-at`). It takes effect at the first chunk that starts at or after `at`.
public struct PromptSwitch: Sendable, Hashable {
    public var at: Double
    public var prompt: String
    public var location: SourceLocation

    public init(at: Double, prompt: String, location: SourceLocation) {
        self.at = at
        self.prompt = prompt
        self.location = location
    }

    static let keys = ["at", "prompt"]

    /// Reads a shot's `prompts` list: each entry after the one before it and inside the shot's `duration` (when
    /// known), so no switch is silently dropped.
    static func schedule(reading field: YAMLField, duration: Double?) -> [PromptSwitch]? {
        guard let entries = field.sequence() else { return nil }
        var schedule: [PromptSwitch] = []
        var broken = false
        for entry in entries {
            guard let mapping = entry.mapping(keys) else {
                broken = true
                continue
            }
            let atField = mapping.required("at")
            let at = atField?.seconds(in: 0.001...600)
            let prompt = mapping.required("prompt")?.string()
            guard let atField, let at, let prompt else {
                broken = true
                continue
            }
            if let last = schedule.last, at <= last.at {
                atField.fail("must be after the entry before it (\(YAMLField.format(last.at)) s), got "
                             + "\(YAMLField.format(at)) s")
                broken = true
                continue
            }
            if let duration, at >= duration {
                atField.fail("\(YAMLField.format(at)) s is not inside the shot (its duration is "
                             + "\(YAMLField.format(duration)) s)")
                broken = true
                continue
            }
            schedule.append(PromptSwitch(at: at, prompt: prompt, location: entry.location))
        }
        return broken ? nil : schedule
    }
}
