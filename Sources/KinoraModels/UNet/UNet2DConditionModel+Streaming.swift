import KinoraGPU
import KinoraTensor

/// The inputs of one UNet pass with streamed weights, as device tensors (every piece of the pass reads them on a
/// graph of its own).
public struct UNetStreamedInputs {
    /// The noisy latents [B, in_channels, H, W].
    public var sample: Tensor
    /// The scheduler timestep, shared by the batch.
    public var timestep: Float
    /// The text hidden states, joined along the batch in this order: [bᵢ, L, cross_attention_dim] each, Σbᵢ = B.
    public var encoderHiddenStates: [Tensor]
    /// SDXL: the pooled text embeddings, joined along the batch like the hidden states; empty otherwise.
    public var textEmbeds: [Tensor]
    /// SDXL: six numbers per sample (see `UNetAddedConditions.timeIds`); empty otherwise.
    public var timeIds: [Float]

    public init(sample: Tensor, timestep: Float, encoderHiddenStates: [Tensor], textEmbeds: [Tensor] = [],
                timeIds: [Float] = []) {
        self.sample = sample
        self.timestep = timestep
        self.encoderHiddenStates = encoderHiddenStates
        self.textEmbeds = textEmbeds
        self.timeIds = timeIds
    }
}

/// Weights streamed block by block: the UNet's prediction computed piece by piece — the embeddings and `conv_in`,
/// then every resnet, transformer layer (with its projections in and out as pieces of their own), sampler and
/// mid-block part, then the output norm and `conv_out` — so the device holds the weights of one piece at a time
/// beside the small head and tail, which stay. The skip states of the down path are held as tensors until the up
/// path consumes them. The ops, their order and their inputs are those of the resident pass, so the prediction is
/// the same bit for bit; each step uploads the weights again (from the memory-mapped file), which is the price.
extension UNet2DConditionModel {
    /// The prediction of one pass with streamed weights, [B, out_channels, H, W] f32; the activations use `arena`
    /// (trimmed after every piece) and are stored as `activationDType`, as in the resident pass.
    public func streamedPrediction(_ inputs: UNetStreamedInputs, arena: ActivationArena) throws -> Tensor {
        try streamedPass(inputs, StreamedPass(weights: weights, arena: arena, mode: .run))
    }

    /// The device bytes a streamed pass over inputs of these shapes reaches at its highest, worked out piece by
    /// piece without running anything (each piece's weights are uploaded while it is planned, then dropped; the
    /// head and tail stay). The figure includes what is live when it is called.
    func plannedStreamedPeak(_ inputs: UNetStreamedInputs) throws -> UInt64 {
        let pass = StreamedPass(weights: weights, arena: ActivationArena(device: weights.device), mode: .plan)
        _ = try streamedPass(inputs, pass)
        return pass.peakBytes
    }

    /// Bytes of the largest piece's weights in their file dtypes: with `streamedResidentBytes`, the most weights
    /// streaming holds on the device.
    public var largestStreamedPieceBytes: Int {
        pieceScopes.map { $0.map(bytes(under:)).reduce(0, +) }.max() ?? 0
    }

    /// Bytes of the weights that stay on the device while streaming: the embeddings, `conv_in`, the output norm and
    /// `conv_out`.
    public var streamedResidentBytes: Int {
        ["time_embedding", "add_embedding", "conv_in", "conv_norm_out", "conv_out"]
            .map { bytes(under: weights.scoped($0).prefix) }.reduce(0, +)
    }

    private func streamedPass(_ inputs: UNetStreamedInputs, _ streamed: StreamedPass) throws -> Tensor {
        let config = configuration
        let pass = TypedPass(pass: streamed, activationDType: activationDType,
                             convolutionStrategy: convolutionStrategy)
        let context = inputs.encoderHiddenStates.count == 1 ? inputs.encoderHiddenStates[0]
            : try pass.value(resident: true) { graph in
                try graph.concat(inputs.encoderHiddenStates.map(graph.input), axis: 0)
            }
        let head = try pass.piece(resident: true) { graph in
            let sample = graph.input(inputs.sample)
            let states = graph.input(context)
            var added: UNetAddedConditions?
            if !inputs.textEmbeds.isEmpty {
                let embeds = inputs.textEmbeds.count == 1 ? graph.input(inputs.textEmbeds[0])
                    : try graph.concat(inputs.textEmbeds.map(graph.input), axis: 0)
                added = UNetAddedConditions(textEmbeds: embeds, timeIds: inputs.timeIds)
            }
            try checkInputs(sample: sample, encoderHiddenStates: states, addedConditions: added)
            var embedding = try timeEmbedding(graph, timestep: inputs.timestep)
            if let added {
                embedding = try graph.add(embedding, addEmbedding(graph, added, batch: sample.shape[0]))
            }
            let cast = try graph.cast(sample, to: activationDType)
            let hidden = config.centerInputSample ? try graph.scale(cast, by: 2, offset: -1) : cast
            return [try graph.silu(embedding),
                    try Layers.conv2d(graph, weights.scoped("conv_in"), hidden, inChannels: config.inChannels,
                                      outChannels: config.blockOutChannels[0], kernel: config.convInKernel)]
        }
        let temb = head[0]
        var hidden = head[1]
        func resnet(_ block: ResnetBlock2D) throws {
            let input = hidden
            hidden = try pass.value { graph in try block(graph, graph.input(input), activatedTemb: graph.input(temb)) }
        }
        func transformer(_ model: Transformer2DModel?) throws {
            guard let model else { return }
            let input = hidden
            var tokens = try pass.value { graph in try model.projectIn(graph, graph.input(input)) }
            for index in 0..<model.layers {
                let layerInput = tokens
                tokens = try pass.value { graph in
                    try model.block(index)(graph, graph.input(layerInput), context: graph.input(context))
                }
            }
            let layersOutput = tokens
            hidden = try pass.value { graph in
                try model.projectOut(graph, graph.input(layersOutput), residual: graph.input(input))
            }
        }

        var skips = [hidden]
        for block in downBlocks {
            for index in 0..<block.layers {
                try resnet(block.resnet(index))
                try transformer(block.transformer(index))
                skips.append(hidden)
            }
            if let downsampler = block.downsampler {
                let input = hidden
                hidden = try pass.value { graph in try downsampler(graph, graph.input(input)) }
                skips.append(hidden)
            }
        }
        if let midBlock {
            try resnet(midBlock.resnet(0))
            try transformer(midBlock.transformer)
            try resnet(midBlock.resnet(1))
        }
        for block in upBlocks {
            for index in 0..<block.layers {
                let (input, skip) = (hidden, skips.removeLast())
                hidden = try pass.value { graph in
                    try block.resnetLayer(index, graph, graph.input(input), skip: graph.input(skip),
                                          activatedTemb: graph.input(temb))
                }
                try transformer(block.transformer(index))
            }
            if let upsampler = block.upsampler {
                let (input, size) = (hidden, try block.upsampleSize(nextSkip: skips.last?.shape))
                hidden = try pass.value { graph in try upsampler(graph, graph.input(input), outputSize: size) }
            }
        }
        let input = hidden
        return try pass.value(resident: true) { graph in
            let normed = try Layers.groupNorm(graph, weights.scoped("conv_norm_out"), graph.input(input),
                                              groups: groups, epsilon: config.normEps)
            return try graph.cast(Layers.conv2d(graph, weights.scoped("conv_out"), graph.silu(normed),
                                                inChannels: config.blockOutChannels[0],
                                                outChannels: config.outChannels, kernel: config.convOutKernel),
                                  to: .f32)
        }
    }

    /// The weight scopes each streamed piece reads, in pass order.
    private var pieceScopes: [[String]] {
        var pieces: [[String]] = []
        func transformer(_ model: Transformer2DModel?) {
            guard let model else { return }
            let weights = model.weights
            pieces.append([weights.scoped("norm").prefix, weights.scoped("proj_in").prefix])
            pieces += (0..<model.layers).map { [model.block($0).weights.prefix] }
            pieces.append([weights.scoped("proj_out").prefix])
        }
        for block in downBlocks {
            for index in 0..<block.layers {
                pieces.append([block.resnet(index).weights.prefix])
                transformer(block.transformer(index))
            }
            if let downsampler = block.downsampler { pieces.append([downsampler.weights.prefix]) }
        }
        if let midBlock {
            pieces.append([midBlock.resnet(0).weights.prefix])
            transformer(midBlock.transformer)
            pieces.append([midBlock.resnet(1).weights.prefix])
        }
        for block in upBlocks {
            for index in 0..<block.layers {
                pieces.append([block.weights.scoped("resnets.\(index)").prefix])
                transformer(block.transformer(index))
            }
            if let upsampler = block.upsampler { pieces.append([upsampler.weights.prefix]) }
        }
        return pieces
    }

    /// File bytes of the tensors under the full scope name `scope`.
    private func bytes(under scope: String) -> Int {
        let store = weights.store
        return store.tensorNames.filter { $0 == scope || $0.hasPrefix(scope + ".") }.reduce(0) { total, name in
            total + ((try? store.info(name).byteCount) ?? 0)
        }
    }
}

/// A streamed pass whose pieces record their activations as `activationDType` and their convolutions by
/// `convolutionStrategy`.
private struct TypedPass {
    let pass: StreamedPass
    let activationDType: DType
    let convolutionStrategy: ConvolutionStrategy

    func piece(resident: Bool = false, _ body: (Graph) throws -> [Value]) throws -> [Tensor] {
        try pass.piece(resident: resident) { graph in
            try graph.withConvolutions(convolutionStrategy) {
                try graph.withActivations(activationDType) { try body(graph) }
            }
        }
    }

    func value(resident: Bool = false, _ body: (Graph) throws -> Value) throws -> Tensor {
        try piece(resident: resident) { [try body($0)] }[0]
    }
}
