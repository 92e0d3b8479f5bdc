import Foundation
import KinoraFormats
import KinoraModels

/// A Wan transformer's weights (under diffusers' names) seen as the causal models' PyTorch training checkpoints hold
/// them (Self-Forcing's `self_forcing_dmd.pt`, CausVid's, LongLive's): `generator.model.<Wan's original name>` and,
/// when given, `generator_ema.model.<name>`. `write` makes such a `.pt` with `TorchCheckpointWriter`.
public struct WanTrainingCheckpoint: WeightStore {
    let sources: [String: (store: any WeightStore, name: String)]
    public let tensorNames: [String]
    public var sourceName: String { "training checkpoint" }

    /// `generator`'s tensors under `generator.model.`, and `ema`'s (of the same names) under `generator_ema.model.`.
    public init(generator: any WeightStore, ema: (any WeightStore)?) {
        var sources: [String: (store: any WeightStore, name: String)] = [:]
        for name in generator.tensorNames {
            let original = Self.originalName(name)
            sources["generator.model." + original] = (generator, name)
            if let ema { sources["generator_ema.model." + original] = (ema, name) }
        }
        self.sources = sources
        tensorNames = sources.keys.sorted()
    }

    public func info(_ name: String) throws -> WeightTensorInfo {
        guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
        let info = try source.store.info(source.name)
        return WeightTensorInfo(name: name, dtype: info.dtype, shape: info.shape, dataRange: info.dataRange)
    }

    public func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws
        -> Result
    {
        guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
        return try source.store.withBytes(of: source.name, body)
    }

    /// Writes the checkpoint as `torch.save` would (`TorchCheckpointWriter`, no wrapper: the names carry the
    /// `generator`/`generator_ema` keys).
    public func write(to url: URL) throws {
        try TorchCheckpointWriter.write(self, wrapper: nil, to: url)
    }

    /// The transformer of the diffusers folder `transformer` (`Tests/Fixtures/wan-pipeline/t2v/transformer`) written
    /// to `url` as a causal model's training checkpoint: its weights as the EMA generator, and random weights of the
    /// same shapes as the plain generator, so that a reader taking the wrong one makes other pictures.
    public static func write(transformer: URL, to url: URL) throws {
        let weights = try WeightFolder.open(transformer)
        let other = RandomWeightStore(shapes: weights.shapes, sourceName: "other generator", seed: 7)
        try WanTrainingCheckpoint(generator: other, ema: weights).write(to: url)
    }

    /// Wan's original name (`wan/modules/model.py`) of a diffusers name: the inverse of diffusers'
    /// `convert_wan_transformer_to_diffusers`, written out independently of `WanTransformerKeyMap`.
    public static func originalName(_ name: String) -> String {
        let topLevel = [
            "condition_embedder.time_embedder.linear_1": "time_embedding.0",
            "condition_embedder.time_embedder.linear_2": "time_embedding.2",
            "condition_embedder.text_embedder.linear_1": "text_embedding.0",
            "condition_embedder.text_embedder.linear_2": "text_embedding.2",
            "condition_embedder.time_proj": "time_projection.1", "proj_out": "head.head",
            "patch_embedding": "patch_embedding",
        ]
        if name == "scale_shift_table" { return "head.modulation" }
        let module = String(name[..<name.lastIndex(of: ".")!])
        let leaf = String(name[name.index(after: name.lastIndex(of: ".")!)...])
        if let renamed = topLevel[module] { return "\(renamed).\(leaf)" }
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        if parts[2] == "scale_shift_table" { return "blocks.\(parts[1]).modulation" }
        let inner = [
            "attn1.to_q": "self_attn.q", "attn1.to_k": "self_attn.k", "attn1.to_v": "self_attn.v",
            "attn1.to_out.0": "self_attn.o", "attn1.norm_q": "self_attn.norm_q", "attn1.norm_k": "self_attn.norm_k",
            "attn2.to_q": "cross_attn.q", "attn2.to_k": "cross_attn.k", "attn2.to_v": "cross_attn.v",
            "attn2.to_out.0": "cross_attn.o", "attn2.norm_q": "cross_attn.norm_q",
            "attn2.norm_k": "cross_attn.norm_k", "norm2": "norm3", "ffn.net.0.proj": "ffn.0", "ffn.net.2": "ffn.2",
        ]
        let blockModule = String(parts[2][..<parts[2].lastIndex(of: ".")!])
        return "blocks.\(parts[1]).\(inner[blockModule]!).\(leaf)"
    }
}
