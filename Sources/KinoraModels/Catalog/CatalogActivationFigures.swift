/// Activation bytes per unit of work of each component of a model, measured for the model catalog
/// (`models/*.yaml`): each stage is measured at several sizes, and a component's figure is the largest bytes-per-unit
/// value over them, so the planner's linear scaling of the figure never under-predicts a stage within the measured
/// range.
///
/// Units are the catalog's: `per_token` (text encoders, per 77-token window), `per_latent_pixel` (denoiser, per
/// batch item), `per_pixel` (decoder) and `per_audio_second` (voice).
public struct CatalogActivationFigures: Codable, Sendable {
    /// One measured stage.
    public struct Sample: Codable, Sendable {
        /// The catalog component: `text_encoder`, `text_encoder_2`, `unet`, `vae`, `voice`.
        public var component: String
        /// The catalog unit, without the `activation_` prefix: `per_token`, `per_latent_pixel`, `per_pixel`,
        /// `per_audio_second`.
        public var unit: String
        /// What was measured, for people: `512x512, guidance batched`, `2 windows`, `768x768, 48-latent tiles`.
        public var setting: String
        /// Units of work the catalog scales by for this stage: tokens, latent pixels times the batch, pixels (of a
        /// tile, for a tiled decode), seconds of audio.
        public var units: Double
        /// Bytes the figure must cover: what the stage adds on top of the resident weights at its peak, less what
        /// the planner counts apart (the decoded image of a tiled decode).
        public var bytes: UInt64

        public init(component: String, unit: String, setting: String, units: Double, bytes: UInt64) {
            self.component = component
            self.unit = unit
            self.setting = setting
            self.units = units
            self.bytes = bytes
        }

        /// Bytes per unit of work.
        public var perUnit: Double { units > 0 ? Double(bytes) / units : 0 }
    }

    /// One component's figure and the range it was measured over.
    public struct Figure: Codable, Sendable {
        public var component: String
        public var unit: String
        /// The largest bytes per unit over the samples, rounded up to a whole byte.
        public var value: Double
        /// The smallest, to show how much the per-unit bytes vary with size.
        public var smallest: Double
        /// The sample that set `value`.
        public var setting: String
        public var samples: Int
    }

    /// The model measured (`sd15`, a folder, a voice file).
    public var model: String
    /// The device the stages were recorded or run on.
    public var device: String
    /// How the bytes were obtained: `Graph.memoryPlan` of recorded stages, or the allocator's peak of run stages.
    public var method: String
    public var samples: [Sample]

    public init(model: String, device: String, method: String, samples: [Sample]) {
        self.model = model
        self.device = device
        self.method = method
        self.samples = samples
    }

    /// Every component's figure, in the order the components were first measured.
    public var figures: [Figure] {
        var keys: [String] = []
        for sample in samples where !keys.contains(sample.component + " " + sample.unit) {
            keys.append(sample.component + " " + sample.unit)
        }
        return keys.compactMap { key in
            let group = samples.filter { $0.component + " " + $0.unit == key }
            guard let largest = group.max(by: { $0.perUnit < $1.perUnit }),
                  let smallest = group.min(by: { $0.perUnit < $1.perUnit }) else { return nil }
            return Figure(component: largest.component, unit: largest.unit, value: largest.perUnit.rounded(.up),
                          smallest: smallest.perUnit, setting: largest.setting, samples: group.count)
        }
    }

    /// The figure of `component`'s `unit`, or nil when it was not measured.
    public func figure(_ component: String, _ unit: String) -> Figure? {
        figures.first { $0.component == component && $0.unit == unit }
    }
}
