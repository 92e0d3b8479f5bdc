/// Which of a shot's settings a render uses.
public enum RenderMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The workhorse settings: cheaper model, fewer steps, smaller pictures, same seeds.
    case draft
    /// The hero settings.
    case final
}
