import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// diffusers' `WanTransformer3DModel`: the diffusion transformer of Wan 2.1 T2V-1.3B and Wan 2.2 TI2V-5B, predicting
/// the flow velocity for a noisy video latent, a timestep (per sample, or per token for Wan 2.2's image-to-video)
/// and the UMT5 text hidden states.
///
/// The latent is cut into patches (`WanTransformerPatchEmbedding`); the condition embedder turns the timesteps into
/// `temb` and the shared 6-way modulation and projects the text (`WanTimeTextEmbedding`); `num_layers` blocks
/// (`WanTransformerBlock`) with 3-D rotary self-attention (`WanRotaryPosEmbed`), cross-attention on the text and a
/// feed-forward, each gated by the modulation; the modulated head (`WanTransformerHead`) projects the tokens back to
/// patches and unpatchifies them to [B, C_out, F, H, W].
///
/// Weights are read under diffusers' names from whatever layout the file has (`WanTransformerKeyMap`), in their file
/// dtype (f32, f16, bf16, float8 with a per-tensor scale), the arithmetic in f32. The forward pass is recorded on one
/// graph (`callAsFunction`, weights uploaded on first use and kept) or run block by block with each block's weights
/// uploaded and dropped again (`streamedPrediction`).
public final class WanTransformer3DModel: Sendable {
    public let configuration: WanTransformer3DConfig
    /// The weights under diffusers' names.
    let weights: DeviceWeights
    /// The most bytes a block's feed-forward intermediate may take before its tokens go through in chunks
    /// (`WanTransformerFeedForward`); 256 MiB unless given.
    public let feedForwardChunkBytes: Int

    public static let defaultFeedForwardChunkBytes = 256 << 20

    /// Checks `configuration` and the shape of every tensor the model reads, and that the weights hold nothing else
    /// (each failure names the tensor, the shape the configuration implies and the one found); the weights upload on
    /// first use.
    public init(
        configuration: WanTransformer3DConfig, weights: DeviceWeights,
        feedForwardChunkBytes: Int = WanTransformer3DModel.defaultFeedForwardChunkBytes
    ) throws {
        let file = weights.store.sourceName
        try configuration.validate(source: file)
        guard feedForwardChunkBytes > 0 else {
            throw WanTransformerError.invalidConfiguration(
                file: file, reason: "feed-forward chunk of \(feedForwardChunkBytes) bytes must be positive")
        }
        try Self.checkWeights(weights.store, prefix: weights.prefix, configuration: configuration)
        self.configuration = configuration
        self.weights = weights
        self.feedForwardChunkBytes = feedForwardChunkBytes
    }

    /// The transformer of a diffusers folder (`transformer/` of a Wan pipeline): `config.json` and
    /// `diffusion_pytorch_model.safetensors`, or shards behind its `.index.json`, with `loras` merged into its
    /// weights as they upload.
    public convenience init(folder: URL, device: GPUDevice, loras: [LoRAAdapter] = []) throws {
        let configuration = try WanTransformer3DConfig.load(from: folder.appending(path: "config.json"))
        let store = try WanTransformerKeyMap.diffusersNames(WeightFolder.open(folder))
        let patches = try Self.loraPatches(loras, store: store, layers: configuration.numLayers)
        try self.init(
            configuration: configuration, weights: DeviceWeights(store: store, device: device, patches: patches))
    }

    /// The transformer in one weight file (ComfyUI's `wan2.1_t2v_1.3B_fp16.safetensors`,
    /// `wan2.2_ti2v_5B_fp16.safetensors`, their fp8 versions, a diffusers file), its configuration read off the tensor
    /// shapes unless given.
    public convenience init(
        file: URL, device: GPUDevice, configuration: WanTransformer3DConfig? = nil, loras: [LoRAAdapter] = []
    ) throws {
        let store = try WanTransformerKeyMap.diffusersNames(WeightFile.open(file))
        let configuration = try configuration ?? WanTransformer3DConfig.inferred(from: store)
        let patches = try Self.loraPatches(loras, store: store, layers: configuration.numLayers)
        try self.init(
            configuration: configuration, weights: DeviceWeights(store: store, device: device, patches: patches))
    }

    /// Every tensor the model reads, under diffusers' names, with the shape `configuration` gives it.
    public static func parameterShapes(_ configuration: WanTransformer3DConfig) -> [(name: String, shape: [Int])] {
        let width = configuration.innerDim
        func linear(_ name: String, _ inputs: Int, _ outputs: Int) -> [(name: String, shape: [Int])] {
            [(name + ".weight", [outputs, inputs]), (name + ".bias", [outputs])]
        }
        var shapes: [(name: String, shape: [Int])] = [
            ("patch_embedding.weight", [width, configuration.inChannels] + configuration.patchSize),
            ("patch_embedding.bias", [width]),
        ]
        shapes += linear("condition_embedder.time_embedder.linear_1", configuration.freqDim, width)
        shapes += linear("condition_embedder.time_embedder.linear_2", width, width)
        shapes += linear("condition_embedder.time_proj", width, 6 * width)
        shapes += linear("condition_embedder.text_embedder.linear_1", configuration.textDim, width)
        shapes += linear("condition_embedder.text_embedder.linear_2", width, width)
        for index in 0..<configuration.numLayers {
            let block = "blocks.\(index)."
            shapes.append((block + "scale_shift_table", [1, 6, width]))
            for attention in ["attn1", "attn2"] {
                for projection in ["to_q", "to_k", "to_v", "to_out.0"] {
                    shapes += linear(block + attention + "." + projection, width, width)
                }
                shapes += [
                    (block + attention + ".norm_q.weight", [width]), (block + attention + ".norm_k.weight", [width]),
                ]
            }
            if configuration.crossAttnNorm {
                shapes += [(block + "norm2.weight", [width]), (block + "norm2.bias", [width])]
            }
            shapes += linear(block + "ffn.net.0.proj", width, configuration.ffnDim)
            shapes += linear(block + "ffn.net.2", configuration.ffnDim, width)
        }
        shapes.append(("scale_shift_table", [1, 2, width]))
        shapes += linear("proj_out", width, configuration.outChannels * configuration.patchVolume)
        return shapes
    }

    /// Records the forward pass and returns the prediction [B, out_channels, F, H, W] f32.
    ///
    /// - Parameters:
    ///   - hiddenStates: the noisy latent [B, in_channels, F, H, W], F, H and W multiples of the patch.
    ///   - timestep: one per sample, or one per token (`WanTimesteps`).
    ///   - encoderHiddenStates: the text encoder's hidden states [B, L_text, text_dim] (Wan zero-pads them to 512
    ///     rows, and every row is attended to).
    /// - Throws: `WanTransformerError` for a latent, text or timesteps that do not fit.
    public func callAsFunction(
        _ graph: Graph, hiddenStates: Value, timestep: WanTimesteps, encoderHiddenStates: Value
    ) throws -> Value {
        let (grid, groups) = try validate(
            latent: hiddenStates.shape, text: encoderHiddenStates.shape, timestep: timestep)
        let rotary = try WanRotaryPosEmbed(configuration: configuration).values(graph, grid)
        var hidden = try patchEmbedding(graph, hiddenStates, grid: grid)
        let (temb, projection) = try conditionEmbedder.time(graph, timesteps: groups.timesteps)
        let conditioning = WanBlockConditioning(
            context: try conditionEmbedder.text(graph, encoderHiddenStates), projection: projection,
            rotary: .init(cos: rotary.cos, sin: rotary.sin))
        for index in 0..<configuration.numLayers {
            hidden = try block(index)(graph, hidden, conditioning)
        }
        return try head(graph, hidden, temb: temb, grid: grid)
    }

    /// The patch grid of a pass and its timesteps grouped in runs, after checking the three inputs' shapes.
    func validate(latent: [Int], text: [Int], timestep: WanTimesteps) throws -> (WanPatchGrid, WanModulationGroups) {
        let grid = try WanPatchGrid(latent: latent, configuration: configuration)
        guard text.count == 3, text.allSatisfy({ $0 > 0 }), text[0] == grid.batch,
            text[2] == configuration.textDim
        else {
            throw WanTransformerError.invalidText(
                shape: text,
                reason: "expected [\(grid.batch), L_text, \(configuration.textDim)]: one prompt per latent sample, "
                    + "text_dim \(configuration.textDim) wide (UMT5-XXL's hidden states)")
        }
        let groups = try timestep.groups(
            batch: grid.batch, frames: grid.patchFrames, tokensPerFrame: grid.tokensPerFrame)
        return (grid, groups)
    }

    /// `patch_embedding`.
    func patchEmbedding(_ graph: Graph, _ x: Value, grid: WanPatchGrid) throws -> Value {
        try WanTransformerPatchEmbedding(configuration: configuration, weights: weights.scoped("patch_embedding"))(
            graph, x, grid: grid)
    }

    /// `condition_embedder`.
    var conditionEmbedder: WanTimeTextEmbedding {
        WanTimeTextEmbedding(configuration: configuration, weights: weights.scoped("condition_embedder"))
    }

    /// Block `index` (`blocks.<index>`).
    func block(_ index: Int) -> WanTransformerBlock {
        WanTransformerBlock(
            configuration: configuration, weights: weights.scoped("blocks.\(index)"),
            feedForwardChunkBytes: feedForwardChunkBytes)
    }

    /// `norm_out`, `scale_shift_table`, `proj_out` and the unpatchify.
    var head: WanTransformerHead { WanTransformerHead(configuration: configuration, weights: weights) }

    /// Throws unless `store` holds, under `prefix`, every tensor `configuration` describes in its shape and nothing
    /// else; each failure names the tensor, the shape the configuration implies and the one found. Reads no weight.
    static func checkWeights(_ store: any WeightStore, prefix: String, configuration: WanTransformer3DConfig) throws {
        let shapes = parameterShapes(configuration)
        for (name, shape) in shapes {
            try check(name, shape: shape, in: store, prefix: prefix, configuration: configuration)
        }
        try checkNothingElse(in: store, prefix: prefix, expected: Set(shapes.map(\.name)), configuration: configuration)
    }

    /// Throws unless `store` holds `name` (under `prefix`) with `shape`.
    private static func check(
        _ name: String, shape: [Int], in store: any WeightStore, prefix: String, configuration: WanTransformer3DConfig
    ) throws {
        let full = prefix.isEmpty ? name : "\(prefix).\(name)"
        guard let info = try? store.info(full) else {
            throw WeightsError.missingTensor(file: store.sourceName, tensor: describe(full, in: store))
        }
        guard info.shape == shape else {
            let sizes = configuration
            throw WanTransformerError.weightsMismatch(
                file: store.sourceName, tensor: describe(full, in: store),
                reason: "expected shape \(shape) for dim \(sizes.innerDim) (\(sizes.numAttentionHeads) heads of "
                    + "\(sizes.attentionHeadDim)), ffn_dim \(sizes.ffnDim), \(sizes.inChannels) → "
                    + "\(sizes.outChannels) channels, patch \(sizes.patchSize), text_dim \(sizes.textDim), "
                    + "freq_dim \(sizes.freqDim); found \(info.shape)")
        }
    }

    /// Throws for a tensor the configuration has no place for (a layer past `num_layers`, an affine `norm2`
    /// without `cross_attn_norm`, an image branch), naming it. diffusers ignores `norm_added_q` on load, and so does
    /// Kinora.
    private static func checkNothingElse(
        in store: any WeightStore, prefix: String, expected: Set<String>, configuration: WanTransformer3DConfig
    ) throws {
        let scope = prefix.isEmpty ? "" : prefix + "."
        for full in store.tensorNames where full.hasPrefix(scope) {
            let name = String(full.dropFirst(scope.count))
            guard !expected.contains(name), !name.contains("norm_added_q") else { continue }
            let layer = name.hasPrefix("blocks.") ? Int(name.split(separator: ".")[1]) : nil
            let reason =
                (layer ?? 0) >= configuration.numLayers
                ? "the file has more layers than num_layers \(configuration.numLayers)"
                : "not part of a Wan transformer with this configuration (cross_attn_norm "
                    + "\(configuration.crossAttnNorm), no image branch)"
            throw WanTransformerError.weightsMismatch(
                file: store.sourceName, tensor: describe(full, in: store), reason: reason)
        }
    }

    /// `name`, or for a renamed file its own key followed by the diffusers name in parentheses.
    private static func describe(_ name: String, in store: any WeightStore) -> String {
        guard let renamed = store as? WanTransformerRenamedStore, let source = renamed.sources[name] else {
            return name
        }
        return "\(source) (\(name))"
    }
}
