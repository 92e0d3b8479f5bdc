/// What makes a model component the same across runs: its family, which component, the fingerprint of its files
/// (size and modification time, or a content hash) and the precision it runs in. Cache keys include it, so
/// replacing a weight file invalidates every result it produced.
public struct ModelIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The workflow's name for the model and the component, such as `hero/unet`.
    public var name: String
    public var family: String
    public var component: String
    /// `FileFingerprint` of the weights.
    public var fingerprint: String
    public var precision: String

    public init(name: String, family: String, component: String, fingerprint: String, precision: String) {
        self.name = name
        self.family = family
        self.component = component
        self.fingerprint = fingerprint
        self.precision = precision
    }

    /// The identity in canonical form: two references to the same files and component share it even under
    /// different workflow names.
    public var key: String {
        [family, component, fingerprint, precision].map { "\($0.utf8.count):\($0)" }.joined()
    }

    public var description: String { name }
}
