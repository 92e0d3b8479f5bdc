/// How the voice lines and music are combined: music ducked under speech, and whether the mix is normalised to the
/// output's loudness target.
public struct MixSettings: Sendable, Hashable {
    /// Sidechain ducking of the music by the voice (KinoraMedia's `DuckingSettings`).
    public struct Ducking: Sendable, Hashable {
        /// How far the music drops under speech, in dB (negative).
        public var amount: Double
        /// Voice level above which ducking engages, in dBFS.
        public var threshold: Double
        /// Seconds to reach `amount`.
        public var attack: Double
        /// Seconds to recover.
        public var release: Double

        public init(amount: Double = -12, threshold: Double = -40, attack: Double = 0.05, release: Double = 0.4) {
            self.amount = amount
            self.threshold = threshold
            self.attack = attack
            self.release = release
        }

        static let keys = ["amount", "threshold", "attack", "release"]
    }

    /// nil: no ducking.
    public var ducking: Ducking?
    /// Whether the mix is normalised to `OutputSettings.loudness` with its true-peak ceiling.
    public var normalize: Bool

    public init(ducking: Ducking? = Ducking(), normalize: Bool = true) {
        self.ducking = ducking
        self.normalize = normalize
    }

    static let keys = ["ducking", "normalize"]

    /// Reads `mix`: `ducking` is `off`, `on` (the defaults) or a mapping of its settings.
    init?(reading field: YAMLField) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        var ducking: Ducking?? = .some(Ducking())
        if let duckingField = mapping["ducking"] {
            if case .scalar = duckingField.node {
                ducking = duckingField.boolean().map { $0 ? Ducking() : nil }
            } else if let settings = duckingField.mapping(Ducking.keys) {
                let defaults = Ducking()
                let amount = settings["amount"].map { $0.number(in: -60...0, unit: "dB") } ?? defaults.amount
                let threshold = settings["threshold"].map { $0.number(in: -90...0, unit: "dB") } ?? defaults.threshold
                let attack = settings["attack"].map { $0.seconds(in: 0.001...5) } ?? defaults.attack
                let release = settings["release"].map { $0.seconds(in: 0.001...10) } ?? defaults.release
                if let amount, let threshold, let attack, let release {
                    ducking = .some(Ducking(amount: amount, threshold: threshold, attack: attack, release: release))
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
