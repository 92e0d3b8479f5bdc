import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// diffusers' `StableAudioDiTModel`: the diffusion transformer of Stable Audio Open, predicting the denoiser output
/// for a noisy Oobleck latent [B, in_channels, T] from a timestep, the projected text-and-duration tokens
/// (cross-attention) and one global token (the seconds-start and seconds-total embeddings side by side).
///
/// The timestep goes through Gaussian Fourier features (`time_proj`, cosines first) and `timestep_proj` and is added
/// to the projected global token (`global_proj`); the latent gets a 1×1 convolution residual (`preprocess_conv`),
/// becomes T tokens (`proj_in`) behind the global token, and runs through `num_layers` blocks
/// (`StableAudioDiTBlock`) whose self-attention turns half of each head by a 1-D rotary embedding over the T + 1
/// positions (as `StableAudioPipeline` builds it); `proj_out` projects back, the global token is dropped, and a
/// second 1×1 convolution residual (`postprocess_conv`) gives [B, out_channels, T].
///
/// Weights are read under diffusers' names in their file dtype, the arithmetic in f32, the activations stored in the
/// graph's activation type (`StableAudioDiTModel+Precision`).
public final class StableAudioDiTModel: Sendable {
    public let configuration: StableAudioDiTConfig
    /// The weights under diffusers' names.
    let weights: DeviceWeights

    /// Checks `configuration` and the shape of every tensor the model reads, and that the weights hold nothing else
    /// (each failure names the tensor); the weights upload on first use.
    public init(configuration: StableAudioDiTConfig, weights: DeviceWeights) throws {
        try configuration.validate(source: weights.store.sourceName)
        let sizes = configuration
        try StableAudioDiTLayers.checkWeights(
            Self.parameterShapes(configuration), in: weights,
            sizes: "width \(sizes.innerDim) (\(sizes.numAttentionHeads) heads of \(sizes.attentionHeadDim), "
                + "\(sizes.numKeyValueAttentionHeads) key/value heads), \(sizes.numLayers) layers, "
                + "\(sizes.inChannels) → \(sizes.outChannels) channels, cross_attention_dim "
                + "\(sizes.crossAttentionDim), time_proj_dim \(sizes.timeProjDim), global_states_input_dim "
                + "\(sizes.globalStatesInputDim), cross_attention_input_dim \(sizes.crossAttentionInputDim)"
                + (sizes.qkNorm ? ", query/key norms" : ""))
        self.configuration = configuration
        self.weights = weights
    }

    /// The transformer of a diffusers folder (`transformer/` of a Stable Audio pipeline): `config.json` and
    /// `diffusion_pytorch_model.safetensors`, or shards behind its `.index.json`.
    public convenience init(folder: URL, device: GPUDevice) throws {
        let configuration = try StableAudioDiTConfig.load(from: folder.appending(path: "config.json"))
        try self.init(
            configuration: configuration, weights: DeviceWeights(store: WeightFolder.open(folder), device: device))
    }

    /// Every tensor the model reads, under diffusers' names, with the shape `configuration` gives it.
    public static func parameterShapes(_ configuration: StableAudioDiTConfig) -> [(name: String, shape: [Int])] {
        let c = configuration
        let width = c.innerDim
        func linear(_ name: String, _ inputs: Int, _ outputs: Int, bias: Bool = false) -> [(String, [Int])] {
            [(name + ".weight", [outputs, inputs])] + (bias ? [(name + ".bias", [outputs])] : [])
        }
        var shapes: [(name: String, shape: [Int])] = [("time_proj.weight", [c.timeProjDim / 2])]
        shapes += linear("timestep_proj.0", c.timeProjDim, width, bias: true)
        shapes += linear("timestep_proj.2", width, width, bias: true)
        shapes += linear("global_proj.0", c.globalStatesInputDim, width)
        shapes += linear("global_proj.2", width, width)
        shapes += linear("cross_attention_proj.0", c.crossAttentionInputDim, c.crossAttentionDim)
        shapes += linear("cross_attention_proj.2", c.crossAttentionDim, c.crossAttentionDim)
        shapes.append(("preprocess_conv.weight", [c.inChannels, c.inChannels, 1]))
        shapes += linear("proj_in", c.inChannels, width)
        for index in 0..<c.numLayers {
            let block = "transformer_blocks.\(index)."
            for norm in ["norm1", "norm2", "norm3"] {
                shapes += [(block + norm + ".weight", [width]), (block + norm + ".bias", [width])]
            }
            for projection in ["to_q", "to_k", "to_v", "to_out.0"] {
                shapes += linear(block + "attn1." + projection, width, width)
            }
            if c.qkNorm {
                for attention in ["attn1", "attn2"] {
                    for norm in ["norm_q", "norm_k"] {
                        let name = block + attention + "." + norm
                        shapes += [(name + ".weight", [c.attentionHeadDim]), (name + ".bias", [c.attentionHeadDim])]
                    }
                }
            }
            shapes += linear(block + "attn2.to_q", width, width)
            shapes += linear(block + "attn2.to_k", c.crossAttentionDim, c.keyValueDim)
            shapes += linear(block + "attn2.to_v", c.crossAttentionDim, c.keyValueDim)
            shapes += linear(block + "attn2.to_out.0", width, width)
            shapes += linear(block + "ff.net.0.proj", width, 2 * c.feedForwardDim, bias: true)
            shapes += linear(block + "ff.net.2", c.feedForwardDim, width, bias: true)
        }
        shapes += linear("proj_out", width, c.outChannels)
        shapes.append(("postprocess_conv.weight", [c.outChannels, c.outChannels, 1]))
        return shapes
    }

    /// Records the forward pass and returns the prediction [B, out_channels, T] in the graph's activation type
    /// (`activationType`: f32 unless a 16-bit type is asked for or the weights are 16-bit).
    ///
    /// - Parameters:
    ///   - hiddenStates: the noisy latent [B, in_channels, T].
    ///   - timestep: one for all samples (the pipeline's `t.unsqueeze(0)`) or one per sample.
    ///   - encoderHiddenStates: the text-and-duration tokens [B, L_text, cross_attention_input_dim]
    ///     (`StableAudioProjectionModel.conditioning`; zeros for classifier-free guidance's unconditional half).
    ///   - globalHiddenStates: the global token [B, 1, global_states_input_dim].
    /// - Throws: `StableAudioDiTError.invalidInput` naming an input that does not fit.
    public func callAsFunction(
        _ graph: Graph, hiddenStates: Value, timestep: [Float], encoderHiddenStates: Value, globalHiddenStates: Value
    ) throws -> Value {
        try validate(
            latent: hiddenStates.shape, timestep: timestep, text: encoderHiddenStates.shape,
            global: globalHiddenStates.shape)
        let (channels, frames) = (hiddenStates.shape[1], hiddenStates.shape[2])
        let c = configuration
        let width = c.innerDim
        let context = try StableAudioDiTLayers.mlp(
            graph, weights.scoped("cross_attention_proj"), encoderHiddenStates, inputs: c.crossAttentionInputDim,
            outputs: c.crossAttentionDim, bias: false)
        let global = try globalStates(graph, globalHiddenStates, timestep: timestep)

        let preprocessed = try graph.add(
            hiddenStates,
            graph.conv1d(
                hiddenStates,
                weight: weights.value("preprocess_conv.weight", in: graph, shape: [channels, channels, 1])
            ))
        let tokens = try StableAudioDiTLayers.linear(
            graph, weights.scoped("proj_in"), graph.transpose(preprocessed, 1, 2), inputs: channels, outputs: width,
            bias: false)
        var hidden = try graph.concat([global, tokens], axis: 1)
        let rotary = try rotaryTable(graph, positions: frames + 1)
        for index in 0..<c.numLayers {
            hidden = try block(index)(graph, hidden, context: context, rotary: rotary)
        }
        let projected = try StableAudioDiTLayers.linear(
            graph, weights.scoped("proj_out"), hidden, inputs: width, outputs: c.outChannels, bias: false)
        let output = try graph.transpose(graph.slice(projected, axis: 1, start: 1, length: frames), 1, 2)
        let postprocess = try weights.value(
            "postprocess_conv.weight", in: graph, shape: [c.outChannels, c.outChannels, 1])
        return try graph.add(output, graph.conv1d(output, weight: postprocess))
    }

    /// The global token after `global_proj`, plus the timestep's `timestep_proj(time_proj(t))`: [B, 1, dim].
    func globalStates(_ graph: Graph, _ globalHiddenStates: Value, timestep: [Float]) throws -> Value {
        let width = configuration.innerDim
        let global = try StableAudioDiTLayers.mlp(
            graph, weights.scoped("global_proj"), globalHiddenStates, inputs: configuration.globalStatesInputDim,
            outputs: width, bias: false)
        let time = try StableAudioDiTLayers.mlp(
            graph, weights.scoped("timestep_proj"), timeProjection(graph, timestep), inputs: configuration.timeProjDim,
            outputs: width, bias: true)
        return try graph.add(global, graph.reshape(time, [timestep.count, 1, width]))
    }

    /// `StableAudioGaussianFourierProjection(flip_sin_to_cos=True, log=False)`: for each timestep t and weight w_k,
    /// x_k = (2π·t)·w_k rounded as PyTorch's f32 steps, then [cos x, sin x]: [N, time_proj_dim], f32 whatever the
    /// activation type (see `StableAudioDiTModel+Precision`).
    func timeProjection(_ graph: Graph, _ timestep: [Float]) throws -> Value {
        let half = configuration.timeProjDim / 2
        return try graph.withActivations(.f32) {
            let scaled = try graph.input(timestep.map { Float(2 * Double.pi) * $0 }, shape: [timestep.count, 1])
            let weight = try graph.reshape(weights.value("time_proj.weight", in: graph, shape: [half]), [1, half])
            let arguments = try graph.multiply(scaled, weight)
            return try graph.concat([graph.unary(.cos, arguments), graph.unary(.sin, arguments)], axis: 1)
        }
    }

    /// The rotary tables `StableAudioPipeline` passes: `get_1d_rotary_pos_embed(attention_head_dim // 2, positions,
    /// use_real=True, repeat_interleave_real=False)`, as [positions, rotary_dim / 2] each (the pipeline's second
    /// half of the columns repeats the first).
    func rotaryTable(_ graph: Graph, positions: Int) throws -> StableAudioDiTAttention.Rotary {
        let table = try graph.rotaryTable(.sequence(count: positions), headDim: configuration.rotaryDim)
        return .init(cos: table.cos, sin: table.sin)
    }

    /// Block `index` (`transformer_blocks.<index>`).
    func block(_ index: Int) -> StableAudioDiTBlock {
        StableAudioDiTBlock(configuration: configuration, weights: weights.scoped("transformer_blocks.\(index)"))
    }

    /// Throws unless the inputs fit the model and each other, naming the first that does not.
    func validate(latent: [Int], timestep: [Float], text: [Int], global: [Int]) throws {
        let c = configuration
        guard latent.count == 3, latent.allSatisfy({ $0 > 0 }), latent[1] == c.inChannels else {
            throw StableAudioDiTError.invalidInput(
                name: "hidden_states", shape: latent,
                reason: "expected [B, \(c.inChannels), T]: the latent with in_channels \(c.inChannels)")
        }
        let batch = latent[0]
        guard text.count == 3, text.allSatisfy({ $0 > 0 }), text[0] == batch, text[2] == c.crossAttentionInputDim
        else {
            throw StableAudioDiTError.invalidInput(
                name: "encoder_hidden_states", shape: text,
                reason: "expected [\(batch), L_text, \(c.crossAttentionInputDim)]: one row of text-and-duration "
                    + "tokens per latent, cross_attention_input_dim \(c.crossAttentionInputDim) wide")
        }
        guard global == [batch, 1, c.globalStatesInputDim] else {
            throw StableAudioDiTError.invalidInput(
                name: "global_hidden_states", shape: global,
                reason: "expected [\(batch), 1, \(c.globalStatesInputDim)]: one global token per latent "
                    + "(the seconds-start and seconds-total embeddings side by side)")
        }
        guard timestep.count == 1 || timestep.count == batch, timestep.allSatisfy(\.isFinite) else {
            throw StableAudioDiTError.invalidInput(
                name: "timestep", shape: [timestep.count],
                reason: "expected one finite timestep, or one per latent (\(batch)); got \(timestep)")
        }
    }
}
