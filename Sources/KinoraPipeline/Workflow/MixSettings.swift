import KinoraMedia

/// How the voice lines and music are combined: music ducked under speech, and whether the mix is normalised to the
/// output's loudness target.
public struct MixSettings: Sendable, Hashable {
    /// The keys of a `ducking` mapping, each a field of KinoraMedia's `DuckingSettings`: `amount` (its
    /// `reductionDB`), `threshold` (`thresholdDB`), `attack` and `release`.
    static let duckingKeys = ["amount", "threshold", "attack", "release"]

    /// Sidechain ducking of the music by the voice; nil: no ducking.
    public var ducking: DuckingSettings?
    /// Whether the mix is normalised to `OutputSettings.loudness` with its true-peak ceiling.
    public var normalize: Bool

    public init(ducking: DuckingSettings? = DuckingSettings(), normalize: Bool = true) {
        self.ducking = ducking
        self.normalize = normalize
    }

    static let keys = ["ducking", "normalize"]

    /// Reads `mix`: `ducking` is `off`, `on` (the defaults) or a mapping of its settings.
    init?(reading field: YAMLField) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        var ducking: DuckingSettings?? = .some(DuckingSettings())
        if let duckingField = mapping["ducking"] {
            if case .scalar = duckingField.node {
                ducking = duckingField.boolean().map { $0 ? DuckingSettings() : nil }
            } else if let settings = duckingField.mapping(Self.duckingKeys) {
                let defaults = DuckingSettings()
                // The ranges `kinora mix` and the mixer take.
                let amount = settings["amount"].map { $0.number(in: ValueBounds.duckingDB, unit: "dB") }
                    ?? defaults.reductionDB
                let threshold = settings["threshold"].map { $0.number(in: ValueBounds.duckingThresholdDB, unit: "dB") }
                    ?? defaults.thresholdDB
                let attack = settings["attack"].map { $0.seconds(in: ValueBounds.duckingTime) } ?? defaults.attack
                let release = settings["release"].map { $0.seconds(in: ValueBounds.duckingTime) } ?? defaults.release
                if let amount, let threshold, let attack, let release {
                    ducking = .some(DuckingSettings(reductionDB: amount, thresholdDB: threshold, attack: attack,
                                                    release: release))
                } else {
                    ducking = nil
                }
            } else {
                ducking = nil
            }
        }
        let normalize = mapping["normalize"].map { $0.boolean() } ?? true
        guard let ducking, let normalize else { return nil }
        self.init(ducking: ducking, normalize: normalize)
    }
}
