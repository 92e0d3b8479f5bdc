import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// SDXL's added conditioning (diffusers' `added_cond_kwargs` for `addition_embed_type: "text_time"`).
public struct UNetAddedConditions: Sendable {
    /// The pooled text embedding, [B, projection_class_embeddings_input_dim − 6 · addition_time_embed_dim].
    public var textEmbeds: Value
    /// Six numbers per sample, row-major [B, 6]: original height and width, crop top and left, target height and
    /// width (in pixels).
    public var timeIds: [Float]

    public init(textEmbeds: Value, timeIds: [Float]) {
        self.textEmbeds = textEmbeds
        self.timeIds = timeIds
    }
}

/// The denoising UNet of Stable Diffusion 1.x, 2.x and SDXL: diffusers' `UNet2DConditionModel` (0.42.1) recorded
/// on KinoraTensor ops. Weights use diffusers' names (`down_blocks.0.resnets.0.conv1.weight`, ...) under the
/// `DeviceWeights` scope and are read in their file dtype; activations are stored as `activationDType` (by default
/// the weights' type, as diffusers runs the model in its `torch_dtype`), with the timestep sinusoids computed in f32
/// and cast to it as diffusers' `get_time_embed` does.
public final class UNet2DConditionModel: Sendable {
    public let configuration: UNet2DConditionConfig
    public let weights: DeviceWeights
    /// The storage type of the activations its forward pass records (f32, f16 or bf16).
    public let activationDType: DType
    /// How its forward pass computes convolutions: by default `.fastest`, which on CPU drivers runs the 3×3 ones
    /// by Winograd with its workspace in the arena (an SD 1.5 step at 128² on lavapipe: about 15% faster) and on
    /// GPUs is `.automatic`. `activationBytes` counts the workspace where it runs; measurements that stand for GPUs
    /// on a CPU driver (the catalog's activation figures) pass `.automatic`.
    public let convolutionStrategy: ConvolutionStrategy
    /// Attention heads per down block (diffusers' `attention_head_dim`).
    let heads: [Int]
    let layersPerBlock: [Int]
    let crossAttentionDims: [Int]
    let groups: Int
    let downBlocks: [DownBlock2D]
    let midBlock: UNetMidBlock2DCrossAttn?
    let upBlocks: [UpBlock2D]

    /// Checks that `configuration` describes a UNet this implementation runs and lays out its blocks; weights are
    /// uploaded (and their shapes checked) when a forward pass is first recorded. Activations run in `precision`,
    /// by default the weights' storage type.
    public init(configuration: UNet2DConditionConfig, weights: DeviceWeights, precision: ActivationPrecision? = nil,
                convolutionStrategy: ConvolutionStrategy = .fastest) throws {
        let config = configuration
        try Self.checkSupported(config)
        let blocks = config.blockOutChannels.count
        guard blocks > 0, config.downBlockTypes.count == blocks, config.upBlockTypes.count == blocks else {
            throw UNetError.unsupportedConfiguration("\(config.downBlockTypes.count) down and "
                + "\(config.upBlockTypes.count) up block types for \(blocks) block_out_channels")
        }
        guard let groups = config.normNumGroups else {
            throw UNetError.unsupportedConfiguration("norm_num_groups null (no output group norm)")
        }
        let heads = try config.perBlock(config.attentionHeadDim, "attention_head_dim")
        let layersPerBlock = try config.perBlock(config.layersPerBlock, "layers_per_block")
        let transformerLayers = try config.perBlock(config.transformerLayersPerBlock, "transformer_layers_per_block")
        let crossAttentionDims = try config.perBlock(config.crossAttentionDim, "cross_attention_dim")
        guard crossAttentionDims.allSatisfy({ $0 == crossAttentionDims[0] }) else {
            throw UNetError.unsupportedConfiguration("cross_attention_dim differs between blocks "
                + "(\(crossAttentionDims)) but one encoder_hidden_states feeds them all")
        }
        for (channels, count) in zip(config.blockOutChannels, heads) where count <= 0 || channels % count != 0 {
            throw UNetError.unsupportedConfiguration("\(channels) channels do not split into \(count) heads")
        }
        for channels in config.blockOutChannels where channels % groups != 0 {
            throw UNetError.unsupportedConfiguration("\(channels) channels do not split into \(groups) groups")
        }
        self.configuration = config
        self.weights = weights
        self.heads = heads
        self.layersPerBlock = layersPerBlock
        self.crossAttentionDims = crossAttentionDims
        self.groups = groups
        activationDType = ActivationPrecision.resolve(precision, weights: weights.storageType).dtype
        self.convolutionStrategy = convolutionStrategy

        let resnets = ResnetSettings(tembChannels: config.timeEmbedDim, groups: groups, epsilon: config.normEps,
                                     outputScaleFactor: config.resnetOutScaleFactor)
        func attention(_ type: String, _ index: Int, crossAttention: String, plain: String) throws
            -> CrossAttentionSettings? {
            switch type {
            case crossAttention:
                return CrossAttentionSettings(heads: heads[index], layers: transformerLayers[index],
                                              crossAttentionDim: crossAttentionDims[index], groups: groups,
                                              useLinearProjection: config.useLinearProjection)
            case plain:
                return nil
            default:
                throw UNetError.unsupportedConfiguration("block type \(type) (supported: \(crossAttention), \(plain))")
            }
        }
        var downBlocks: [DownBlock2D] = []
        for (index, type) in config.downBlockTypes.enumerated() {
            downBlocks.append(DownBlock2D(
                weights: weights.scoped("down_blocks.\(index)"),
                inChannels: config.blockOutChannels[max(index - 1, 0)], outChannels: config.blockOutChannels[index],
                layers: layersPerBlock[index], resnets: resnets,
                crossAttention: try attention(type, index, crossAttention: "CrossAttnDownBlock2D",
                                              plain: "DownBlock2D"),
                downsamplePadding: index == blocks - 1 ? nil : config.downsamplePadding))
        }
        switch config.midBlockType {
        case "UNetMidBlock2DCrossAttn":
            let channels = config.blockOutChannels[blocks - 1]
            midBlock = UNetMidBlock2DCrossAttn(
                weights: weights.scoped("mid_block"), channels: channels,
                resnets: ResnetSettings(tembChannels: config.timeEmbedDim, groups: groups, epsilon: config.normEps,
                                        outputScaleFactor: config.midBlockScaleFactor),
                crossAttention: CrossAttentionSettings(
                    heads: heads[blocks - 1], layers: transformerLayers[blocks - 1],
                    crossAttentionDim: crossAttentionDims[blocks - 1], groups: groups,
                    useLinearProjection: config.useLinearProjection))
        case nil:
            midBlock = nil
        case let type?:
            throw UNetError.unsupportedConfiguration("mid_block_type \(type) (supported: UNetMidBlock2DCrossAttn)")
        }
        let reversedChannels = Array(config.blockOutChannels.reversed())
        var upBlocks: [UpBlock2D] = []
        for (index, type) in config.upBlockTypes.enumerated() {
            let down = blocks - 1 - index
            upBlocks.append(UpBlock2D(
                weights: weights.scoped("up_blocks.\(index)"),
                inChannels: reversedChannels[min(index + 1, blocks - 1)], outChannels: reversedChannels[index],
                previousOutChannels: reversedChannels[max(index - 1, 0)], layers: layersPerBlock[down] + 1,
                resnets: resnets,
                crossAttention: try attention(type, down, crossAttention: "CrossAttnUpBlock2D", plain: "UpBlock2D"),
                upsamples: index != blocks - 1))
        }
        self.downBlocks = downBlocks
        self.upBlocks = upBlocks
    }

    /// The model in a diffusers `unet` folder: its `config.json` and `diffusion_pytorch_model.safetensors`.
    public convenience init(folder: URL, device: GPUDevice) throws {
        let configuration = try UNet2DConditionConfig(contentsOf: folder.appending(path: "config.json"))
        let store = try SafetensorsFile(url: folder.appending(path: "diffusion_pytorch_model.safetensors"))
        try self.init(configuration: configuration, weights: DeviceWeights(store: store, device: device))
    }

    /// Records the forward pass and returns the model's prediction (noise, or v for v-prediction checkpoints),
    /// [B, out_channels, H, W], cast to f32 for the sampler.
    ///
    /// - Parameters:
    ///   - sample: the noisy latents [B, in_channels, H, W]; any H and W (odd sizes are upsampled back to the
    ///     skip states' sizes as diffusers does).
    ///   - timestep: the scheduler timestep, shared by the batch.
    ///   - encoderHiddenStates: the text encoder's hidden states [B, L, cross_attention_dim].
    ///   - addedConditions: SDXL's pooled text embedding and time ids; required exactly when
    ///     `addition_embed_type` is `"text_time"`.
    public func callAsFunction(_ graph: Graph, sample: Value, timestep: Float, encoderHiddenStates: Value,
                               addedConditions: UNetAddedConditions? = nil) throws -> Value {
        try graph.cast(record(graph, sample: sample, timestep: timestep, encoderHiddenStates: encoderHiddenStates,
                              addedConditions: addedConditions).output, to: .f32)
    }

    /// The values of one recorded forward pass that the conformance tests compare with diffusers.
    struct Recorded {
        /// time_embedding(t) (+ add_embedding for SDXL), before the SiLU the resnets apply.
        let embedding: Value
        let firstDownBlock: Value
        let midBlock: Value?
        let output: Value
    }

    /// The forward pass with activations stored as `activationDType`; the sample enters in it, as diffusers feeds
    /// the UNet latents of its dtype.
    func record(_ graph: Graph, sample: Value, timestep: Float, encoderHiddenStates: Value,
                addedConditions: UNetAddedConditions?) throws -> Recorded {
        try graph.withConvolutions(convolutionStrategy) {
            try graph.withActivations(activationDType) {
                try recordForward(graph, sample: graph.cast(sample, to: activationDType), timestep: timestep,
                                  encoderHiddenStates: encoderHiddenStates, addedConditions: addedConditions)
            }
        }
    }

    private func recordForward(_ graph: Graph, sample: Value, timestep: Float, encoderHiddenStates: Value,
                               addedConditions: UNetAddedConditions?) throws -> Recorded {
        let config = configuration
        try checkInputs(sample: sample, encoderHiddenStates: encoderHiddenStates, addedConditions: addedConditions)
        let batch = sample.shape[0]
        var embedding = try timeEmbedding(graph, timestep: timestep)
        if let addedConditions {
            embedding = try graph.add(embedding, addEmbedding(graph, addedConditions, batch: batch))
        }
        let activatedTemb = try graph.silu(embedding)
        var hidden = config.centerInputSample ? try graph.scale(sample, by: 2, offset: -1) : sample
        hidden = try Layers.conv2d(graph, weights.scoped("conv_in"), hidden, inChannels: config.inChannels,
                                   outChannels: config.blockOutChannels[0], kernel: config.convInKernel)
        var skips = [hidden]
        var firstDownBlock = hidden
        for (index, block) in downBlocks.enumerated() {
            let result = try block(graph, hidden, activatedTemb: activatedTemb, context: encoderHiddenStates)
            hidden = result.hidden
            skips += result.skips
            if index == 0 { firstDownBlock = hidden }
        }
        var midOutput: Value?
        if let midBlock {
            hidden = try midBlock(graph, hidden, activatedTemb: activatedTemb, context: encoderHiddenStates)
            midOutput = hidden
        }
        for block in upBlocks {
            hidden = try block(graph, hidden, skips: &skips, activatedTemb: activatedTemb,
                               context: encoderHiddenStates)
        }
        hidden = try Layers.groupNorm(graph, weights.scoped("conv_norm_out"), hidden, groups: groups,
                                      epsilon: config.normEps)
        let output = try Layers.conv2d(graph, weights.scoped("conv_out"), graph.silu(hidden),
                                       inChannels: config.blockOutChannels[0], outChannels: config.outChannels,
                                       kernel: config.convOutKernel)
        return Recorded(embedding: embedding, firstDownBlock: firstDownBlock, midBlock: midOutput, output: output)
    }

    /// `time_proj` and `time_embedding` of one timestep: [1, time embed dim], broadcast over the batch. The
    /// sinusoids are f32 and cast to the activation type before `time_embedding`, as diffusers' `get_time_embed`
    /// casts `t_emb` to the sample's dtype.
    func timeEmbedding(_ graph: Graph, timestep: Float) throws -> Value {
        let config = configuration
        let projection = Timesteps(channels: config.blockOutChannels[0], flipSinToCos: config.flipSinToCos,
                                   downscaleFreqShift: Float(config.freqShift))
        let embedding = TimestepEmbedding(weights: weights.scoped("time_embedding"),
                                          inChannels: config.blockOutChannels[0], timeEmbedDim: config.timeEmbedDim)
        return try embedding(graph, graph.cast(projection(graph, [timestep]), to: graph.activationDType))
    }

    /// SDXL's `add_time_proj` of the time ids, concatenated after the pooled text embedding, through
    /// `add_embedding`: [B, time embed dim]. The concatenation is cast to the activation type before
    /// `add_embedding`, as diffusers casts `add_embeds` to the embedding's dtype.
    func addEmbedding(_ graph: Graph, _ conditions: UNetAddedConditions, batch: Int) throws -> Value {
        let config = configuration
        let timeDim = config.additionTimeEmbedDim ?? 0
        let projection = Timesteps(channels: timeDim, flipSinToCos: config.flipSinToCos,
                                   downscaleFreqShift: Float(config.freqShift))
        let timeEmbeds = try graph.reshape(projection(graph, conditions.timeIds), [batch, 6 * timeDim])
        let combined = try graph.cast(graph.concat([conditions.textEmbeds, timeEmbeds], axis: -1),
                                      to: graph.activationDType)
        let embedding = TimestepEmbedding(weights: weights.scoped("add_embedding"), inChannels: combined.shape[1],
                                          timeEmbedDim: config.timeEmbedDim)
        return try embedding(graph, combined)
    }

    func checkInputs(sample: Value, encoderHiddenStates: Value, addedConditions: UNetAddedConditions?)
        throws {
        let config = configuration
        guard sample.rank == 4, sample.shape[1] == config.inChannels else {
            throw UNetError.invalidInput(name: "sample", shape: sample.shape,
                                         reason: "expected [B, \(config.inChannels), H, W]")
        }
        let batch = sample.shape[0]
        let width = crossAttentionDims[0]
        guard encoderHiddenStates.rank == 3, encoderHiddenStates.shape[0] == batch,
              encoderHiddenStates.shape[2] == width else {
            throw UNetError.invalidInput(name: "encoderHiddenStates", shape: encoderHiddenStates.shape,
                                         reason: "expected [\(batch), L, \(width)] for a batch of \(batch) samples")
        }
        guard config.additionEmbedType == "text_time" else {
            if addedConditions != nil {
                throw UNetError.invalidInput(name: "addedConditions", shape: [],
                                             reason: "this UNet has no addition_embed_type; pass nil")
            }
            return
        }
        guard let addedConditions else {
            throw UNetError.invalidInput(name: "addedConditions", shape: [],
                                         reason: "addition_embed_type \"text_time\" needs text_embeds and time_ids")
        }
        let pooled = (config.projectionClassEmbeddingsInputDim ?? 0) - 6 * (config.additionTimeEmbedDim ?? 0)
        let textEmbeds = addedConditions.textEmbeds
        guard textEmbeds.rank == 2, textEmbeds.shape == [batch, pooled] else {
            throw UNetError.invalidInput(name: "textEmbeds", shape: textEmbeds.shape, reason: "expected [\(batch), "
                + "\(pooled)] (projection_class_embeddings_input_dim less 6 × addition_time_embed_dim)")
        }
        guard addedConditions.timeIds.count == 6 * batch else {
            throw UNetError.invalidInput(name: "timeIds", shape: [addedConditions.timeIds.count],
                                         reason: "expected 6 numbers per sample, \(6 * batch) in all")
        }
    }

    private static func checkSupported(_ config: UNet2DConditionConfig) throws {
        var problems: [String] = []
        func expect<T: Equatable>(_ value: T, _ supported: T, _ key: String) {
            if value != supported { problems.append("\(key) \(value) (supported: \(supported))") }
        }
        expect(config.actFn, "silu", "act_fn")
        expect(config.timeEmbeddingType, "positional", "time_embedding_type")
        expect(config.resnetTimeScaleShift, "default", "resnet_time_scale_shift")
        expect(config.attentionType, "default", "attention_type")
        expect(config.onlyCrossAttention, false, "only_cross_attention")
        expect(config.dualCrossAttention, false, "dual_cross_attention")
        expect(config.resnetSkipTimeAct, false, "resnet_skip_time_act")
        expect(config.classEmbeddingsConcat, false, "class_embeddings_concat")
        expect(config.classEmbedType, nil, "class_embed_type")
        expect(config.encoderHidDimType, nil, "encoder_hid_dim_type")
        expect(config.timeEmbeddingActFn, nil, "time_embedding_act_fn")
        expect(config.timestepPostAct, nil, "timestep_post_act")
        expect(config.timeCondProjDim, nil, "time_cond_proj_dim")
        expect(config.crossAttentionNorm, nil, "cross_attention_norm")
        expect(config.reverseTransformerLayersPerBlock, nil, "reverse_transformer_layers_per_block")
        if config.numAttentionHeads != nil {
            problems.append("num_attention_heads is set (diffusers 0.42.1 rejects it too; heads come from "
                + "attention_head_dim)")
        }
        switch config.additionEmbedType {
        case nil:
            break
        case "text_time":
            let timeDim = config.additionTimeEmbedDim ?? 0
            let inputDim = config.projectionClassEmbeddingsInputDim ?? 0
            if timeDim <= 0 || inputDim <= 6 * timeDim {
                problems.append("addition_embed_type text_time needs addition_time_embed_dim > 0 and "
                    + "projection_class_embeddings_input_dim > 6 × it")
            }
        case let type?:
            problems.append("addition_embed_type \(type) (supported: text_time)")
        }
        for kernel in [config.convInKernel, config.convOutKernel] where kernel % 2 == 0 {
            problems.append("conv_in/conv_out kernel \(kernel) (must be odd)")
        }
        if !problems.isEmpty {
            throw UNetError.unsupportedConfiguration(problems.joined(separator: "; "))
        }
    }
}
