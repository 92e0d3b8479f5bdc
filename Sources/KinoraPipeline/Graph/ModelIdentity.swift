/// What makes a model component the same across runs: its family, which component, the fingerprint of its files
/// (size and modification time, or a content hash) and the precision it runs in. Cache keys include it, so
/// replacing a weight file, or a tokenizer or configuration file the model's reference names, invalidates every
/// result it produced.
public struct ModelIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The workflow's name for the model and the component, such as `hero/unet`.
    public var name: String
    public var family: String
    public var component: String
    /// `FileFingerprint` of the weights, combined by `fingerprint(weights:options:)` with the single-file options
    /// that change what the model computes.
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

    /// The fingerprint of a model's weights (`weights`, a `FileFingerprint`) together with `options`: the files and
    /// settings beside the weights that change what the model computes, by name (a single-file checkpoint's
    /// prediction type, and the fingerprints of the tokenizer and configuration its reference names). Without
    /// options it is `weights` itself, so models without any keep their identity, and their cached results.
    public static func fingerprint(weights: String, options: [(name: String, value: String)]) -> String {
        guard !options.isEmpty else { return weights }
        var hash = SHA256()
        hash.update(StageParameters.Value.prefixed(weights))
        for (name, value) in options.sorted(by: { $0.name < $1.name }) {
            hash.update(StageParameters.Value.prefixed(name) + StageParameters.Value.prefixed(value))
        }
        return "options:" + hash.hexDigest()
    }
}
