import Foundation
import KinoraGPU
import KinoraModels

/// A video model component whose stages' memory comes from the Wan memory planner (`WanMemoryPlanner`) over the
/// folder's own weights, one plan per clip (its size, frames, guidance and keyframe) and per batch of clips denoised
/// together, and whose weights, tactics and time estimates come from its catalog entry's figures. `RenderPreparation`
/// makes one per video component when it has a device to plan on; without one the catalog's figures serve for memory
/// too (`CatalogStageModel`).
public struct PlannedVideoStageModel: StageModel {
    /// The catalog's model of the same component: its identity, weights, tactics and time figures.
    public let catalog: CatalogStageModel
    /// Device bytes beyond the weights at each stage's planned peak, by stage id.
    public let activation: [String: UInt64]
    /// For a clip's denoise stage, by id, the device bytes beyond the weights of denoising 2, 3, … clips of its batch
    /// signature together, as many as fit (see `plan`); absent when no batch of two does.
    public let batchActivation: [String: [UInt64]]

    public init(catalog: CatalogStageModel, activation: [String: UInt64], batchActivation: [String: [UInt64]] = [:]) {
        self.catalog = catalog
        self.activation = activation
        self.batchActivation = batchActivation
    }

    public var identity: ModelIdentity { catalog.identity }
    public var weightBytes: UInt64 { catalog.weightBytes }
    public var streamedWeightBytes: UInt64? { catalog.streamedWeightBytes }

    public func tactics(for stage: Stage) -> [Tactic] { catalog.tactics(for: stage) }

    /// One more than the batches of two or more planned for `stage` (1 for every stage but a clip's denoise).
    public func maximumBatch(for stage: Stage) -> Int { 1 + (batchActivation[stage.id]?.count ?? 0) }

    /// The planned bytes of a batch of clips denoised together, or of each stage (one after the other), or the
    /// catalog's figures for a stage the plan does not know.
    public func activationBytes(for stages: [Stage], tactic: Tactic) -> UInt64 {
        if stages.count > 1, let batches = stages.first.flatMap({ batchActivation[$0.id] }),
           batches.count >= stages.count - 1 {
            return batches[stages.count - 2]
        }
        return stages.reduce(0) { total, stage in
            total + (activation[stage.id] ?? catalog.activationBytes(for: [stage], tactic: tactic))
        }
    }

    public func estimatedSeconds(for stages: [Stage], tactic: Tactic, device: DeviceProfile) -> Double {
        catalog.estimatedSeconds(for: stages, tactic: tactic, device: device)
    }

    /// Plans every clip of `graph` whose denoise stage runs on one of `models` (video components by key, their
    /// folders in `locations`, or single transformer files there with their base folders in `bases`) on `device`
    /// (nothing runs; the planner records each stage's graphs over the weights), and returns those models with each
    /// clip stage's planned bytes beyond its stage's weights: the text encoding (prompts streamed layer by layer), the
    /// keyframe encode, the denoise and the streamed decode (with the keyframe encoder's weights, which stay
    /// uploaded). Each clip is planned in its model's precision (`ModelIdentity.activationPrecision`), as it runs.
    ///
    /// A clip's denoise is also planned for batches of 2, 3, … clips of its batch signature denoised together
    /// (`WanMemoryPlanner.batchedDenoise`, once per signature), up to as many as the graph has (at most
    /// `CatalogStageModel.maximumDenoiseBatch`), while the batch's planned peak fits `budget` and its buffers the
    /// device's largest, with its weights resident when one clip's are (streaming them to batch would cost more than
    /// batching saves).
    ///
    /// A stream's stages are planned by `WanStreamPlanner` instead, once per stream (`planStream`), within `budget`
    /// (the render's; nil: the device's).
    public static func plan(_ graph: StageGraph, models: Set<String>, locations: [String: URL],
                            bases: [String: URL] = [:], device: GPUDevice,
                            budget: UInt64? = nil) throws -> [String: any StageModel] {
        var activation: [String: UInt64] = [:]
        var batchBytes: [String: [UInt64]] = [:]
        var bySignature: [String: [UInt64]] = [:]
        var opened: [String: WanStageComponents] = [:]
        /// The parts of `key`'s model, opened once per file and base.
        func components(_ key: String, at url: URL) throws -> WanStageComponents {
            let base = bases[key]
            let id = url.path + (base.map { "\u{1F}" + $0.path } ?? "")
            let parts = try opened[id] ?? base.map {
                try WanVideoComponents(transformerFile: url, base: $0).stageComponents(name: url.lastPathComponent)
            } ?? WanStageComponents(folder: url)
            opened[id] = parts
            return parts
        }
        let byID = Dictionary(graph.stages.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for stage in graph.stages where stage.kind == .decode && stage.parameters.bool("stream") == true {
            guard let key = stage.model, models.contains(key), let url = locations[key] else { continue }
            let parts = try components(key, at: url)
            let precision = graph.models[key]?.identity.activationPrecision
            try planStream(stage, stages: byID, parts: parts, precision: precision, budget: budget, device: device,
                           into: &activation)
        }
        for stage in graph.stages where stage.kind == .denoise && stage.parameters.int("chunk") == nil {
            guard let key = stage.model, models.contains(key), let url = locations[key] else { continue }
            let parts = try components(key, at: url)
            let parameters = stage.parameters
            let request = WanGenerationRequest(
                width: parameters.int("width") ?? 0, height: parameters.int("height") ?? 0,
                frames: parameters.int("frames") ?? 1, guidance: (parameters.number("cfg") ?? 0) > 1,
                imageToVideo: stage.inputs.count > 1, precision: graph.models[key]?.identity.activationPrecision)
            let plan = try WanMemoryPlanner.plan(parts, request, device: device)
            if let signature = stage.batchSignature {
                let peers = graph.stages.filter { $0.model == key && $0.batchSignature == signature }.count
                let batches = try bySignature[signature] ?? batchActivation(
                    parts, request, peers: peers, streamed: plan.streamedTransformer, budget: budget, device: device)
                bySignature[signature] = batches
                if !batches.isEmpty { batchBytes[stage.id] = batches }
            }
            // The keyframe encode uploads the VAE's encoder, which stays beside the decoder until the VAE is evicted.
            let encoder = plan.stage(.keyframeEncode)?.weightBytes ?? 0
            func bytes(_ kind: WanStagePlan.Kind) -> UInt64? {
                plan.stage(kind).map {
                    $0.peakBytes - min($0.peakBytes, $0.weightBytes) + (kind == .decode ? encoder : 0)
                }
            }
            let decode = graph.stages.first { $0.kind == .decode && $0.inputs == [stage.id] }
            let owned: [(String?, WanStagePlan.Kind)] = [
                (stage.inputs.first, .textEncoding), (stage.inputs.dropFirst().first, .keyframeEncode),
                (stage.id, .denoise), (decode?.id, .decode),
            ]
            for case (let id?, let kind) in owned {
                activation[id] = max(activation[id] ?? 0, bytes(kind) ?? 0)
            }
        }
        var planned: [String: any StageModel] = [:]
        for key in models {
            guard let catalog = graph.models[key] as? CatalogStageModel else { continue }
            let ids = Set(graph.stages.filter { $0.model == key }.map(\.id))
            planned[key] = PlannedVideoStageModel(catalog: catalog,
                                                  activation: activation.filter { ids.contains($0.key) },
                                                  batchActivation: batchBytes.filter { ids.contains($0.key) })
        }
        return planned
    }

    /// The bytes beyond the weights of denoising 2, 3, … up to `peers` clips of `request` together, stopping at the
    /// first batch whose planned peak is over `budget` (nil: the device's), needs a buffer larger than
    /// `largestBuffer` (nil: the device's largest), or streams the weights when one clip's do not (`streamed`).
    static func batchActivation(_ parts: WanStageComponents, _ request: WanGenerationRequest, peers: Int,
                                streamed: Bool, budget: UInt64?, largestBuffer: UInt64? = nil,
                                device: GPUDevice) throws -> [UInt64] {
        let budget = budget ?? device.memory.budget
        let largestBuffer = largestBuffer ?? device.memory.maxBufferSize
        var batches: [UInt64] = []
        for size in stride(from: 2, through: min(peers, CatalogStageModel.maximumDenoiseBatch), by: 1) {
            let plan: (stage: WanStagePlan, streamed: Bool)
            do {
                plan = try WanMemoryPlanner.batchedDenoise(parts, request, batch: size, budget: budget, device: device)
            } catch PipelineError.overBudget {
                break
            }
            let stage = plan.stage
            guard stage.peakBytes <= budget, stage.largestBufferBytes <= largestBuffer,
                  streamed || !plan.streamed else { break }
            batches.append(stage.peakBytes - min(stage.peakBytes, stage.weightBytes))
        }
        return batches
    }
}
