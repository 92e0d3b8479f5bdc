import KinoraGPU

/// A music model whose memory comes from its generator's own planner over the folder's weights
/// (`MusicModelFolder.plannedMemory`: `StableAudioMemoryPlanner` for Stable Audio), with and without guidance, and
/// whose time estimate comes from its catalog entry's figures. `RenderPreparation` makes one when it has a device to
/// plan on; without one the catalog's figures serve for memory too (`CatalogStageModel`).
public struct PlannedMusicStageModel: StageModel {
    /// The catalog's model of the same component: its identity, tactics and time figures.
    public let catalog: CatalogStageModel
    public let weightBytes: UInt64
    /// Device bytes beyond the weights at the generation's peak, without and with guidance.
    public let activation: (unguided: UInt64, guided: UInt64)

    /// Plans `folder` on `device` (nothing is uploaded).
    public init(catalog: CatalogStageModel, folder: MusicModelFolder, device: GPUDevice) throws {
        let plain = try folder.plannedMemory(guidance: false, device: device)
        let guided = try folder.plannedMemory(guidance: true, device: device)
        self.catalog = catalog
        weightBytes = max(plain.weightBytes, guided.weightBytes)
        activation = (
            plain.peakBytes - min(plain.peakBytes, weightBytes),
            guided.peakBytes - min(guided.peakBytes, weightBytes)
        )
    }

    public var identity: ModelIdentity { catalog.identity }
    public var streamedWeightBytes: UInt64? { nil }

    public func tactics(for stage: Stage) -> [Tactic] { catalog.tactics(for: stage) }

    public func maximumBatch(for stage: Stage) -> Int { 1 }

    public func activationBytes(for stages: [Stage], tactic: Tactic) -> UInt64 {
        stages.reduce(0) { total, stage in
            total + ((stage.parameters.number("cfg") ?? 0) > 1 ? activation.guided : activation.unguided)
        }
    }

    public func estimatedSeconds(for stages: [Stage], tactic: Tactic, device: DeviceProfile) -> Double {
        catalog.estimatedSeconds(for: stages, tactic: tactic, device: device)
    }
}
