/// Content addresses of a graph's stages: SHA-256 over the stage's kind, its model's identity (family, component,
/// file fingerprint, precision), its parameters and its inputs' keys, so a key changes exactly when anything the
/// result depends on changes, however far upstream.
public enum StageKeys {
    /// The format version of keys; bump it when stage outputs change meaning, to orphan old entries.
    public static let version = "kinora-stage-v1"

    /// Every stage's key, by stage id.
    public static func compute(_ graph: StageGraph) -> [String: String] {
        var keys: [String: String] = [:]
        for stage in graph.stages {
            var hash = SHA256()
            hash.update(version + "\n")
            hash.update(StageParameters.Value.prefixed(stage.kind.rawValue))
            hash.update(StageParameters.Value.prefixed(stage.model.flatMap { graph.models[$0]?.identity.key } ?? ""))
            hash.update(StageParameters.Value.prefixed(stage.parameters.canonical))
            hash.update(StageParameters.Value.prefixed(stage.seed.map(String.init) ?? ""))
            for input in stage.inputs {
                hash.update(StageParameters.Value.prefixed(keys[input] ?? "missing \(input)"))
            }
            keys[stage.id] = hash.hexDigest()
        }
        return keys
    }
}
