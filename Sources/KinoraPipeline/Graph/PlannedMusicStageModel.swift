import KinoraGPU
import KinoraModels

/// A music model whose memory comes from its generator's own planner over the folder's weights
/// (`MusicModelFolder.plannedMemory`: `StableAudioMemoryPlanner` for Stable Audio, `MusicGenMemoryPlanner` for
/// MusicGen), with and without guidance, in the activation precision the runner opens it in (its `precision:`,
/// `ModelIdentity.activationPrecision`), and whose time estimate comes from its catalog entry's figures.
/// `RenderPreparation` makes one when it has a device to plan on; without one the catalog's figures serve for memory
/// too (`CatalogStageModel`).
public struct PlannedMusicStageModel: StageModel {
    /// The catalog's model of the same component: its identity, tactics and time figures.
    public let catalog: CatalogStageModel
    public let weightBytes: UInt64
    /// Device bytes beyond the weights at the generation's peak, without and with guidance, for cues up to
    /// `shortSeconds` and up to the folder's longest (MusicGen's memory grows with the cue's windows and decode;
    /// Stable Audio's is its window's whatever the length).
    public let activation: (unguided: UInt64, guided: UInt64)
    public let longActivation: (unguided: UInt64, guided: UInt64)
    public let shortSeconds: Double

    /// Plans `folder` on `device` (nothing is uploaded) in the precision of `catalog`'s identity.
    public init(catalog: CatalogStageModel, folder: MusicModelFolder, device: GPUDevice) throws {
        shortSeconds = min(30, folder.maximumSeconds)
        let precision = catalog.identity.activationPrecision
        func plan(_ seconds: Double, guidance: Bool) throws -> (weightBytes: UInt64, peakBytes: UInt64) {
            try folder.plannedMemory(seconds: seconds, guidance: guidance, device: device, precision: precision)
        }
        let plain = try plan(shortSeconds, guidance: false)
        let guided = try plan(shortSeconds, guidance: true)
        // Stable Audio makes its whole window whatever the length: its short plans are its long ones.
        let sameWork = folder.generatedSeconds(for: folder.maximumSeconds) == folder.generatedSeconds(for: shortSeconds)
        let longPlain = sameWork ? plain : try plan(folder.maximumSeconds, guidance: false)
        let longGuided = sameWork ? guided : try plan(folder.maximumSeconds, guidance: true)
        self.catalog = catalog
        let weightBytes = max(plain.weightBytes, guided.weightBytes)
        self.weightBytes = weightBytes
        func beside(_ peak: UInt64) -> UInt64 { peak - min(peak, weightBytes) }
        activation = (beside(plain.peakBytes), beside(guided.peakBytes))
        longActivation = (beside(longPlain.peakBytes), beside(longGuided.peakBytes))
    }

    public var identity: ModelIdentity { catalog.identity }
    public var streamedWeightBytes: UInt64? { nil }

    public func tactics(for stage: Stage) -> [Tactic] { catalog.tactics(for: stage) }

    public func maximumBatch(for stage: Stage) -> Int { 1 }

    public func activationBytes(for stages: [Stage], tactic: Tactic) -> UInt64 {
        stages.reduce(0) { total, stage in
            let long = (stage.parameters.number("seconds") ?? 0) > shortSeconds + 1e-9
            let plans = long ? longActivation : activation
            return total + ((stage.parameters.number("cfg") ?? 0) > 1 ? plans.guided : plans.unguided)
        }
    }

    public func estimatedSeconds(for stages: [Stage], tactic: Tactic, device: DeviceProfile) -> Double {
        catalog.estimatedSeconds(for: stages, tactic: tactic, device: device)
    }
}
