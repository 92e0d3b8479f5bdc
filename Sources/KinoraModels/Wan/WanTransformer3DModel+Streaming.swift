import KinoraFormats
import KinoraGPU
import KinoraTensor

/// The inputs of one Wan transformer pass with streamed weights, as device tensors.
public struct WanTransformerStreamedInputs {
    /// The noisy latent [B, in_channels, F, H, W].
    public var hiddenStates: Tensor
    public var timestep: WanTimesteps
    /// The text hidden states [B, L_text, text_dim].
    public var encoderHiddenStates: Tensor

    public init(hiddenStates: Tensor, timestep: WanTimesteps, encoderHiddenStates: Tensor) {
        self.hiddenStates = hiddenStates
        self.timestep = timestep
        self.encoderHiddenStates = encoderHiddenStates
    }
}

/// Weights streamed block by block (`StreamedPass`): the patch and condition embeddings as one piece, each block as a
/// piece of its own over the hidden states carried from the one before, and the head as the last; each block's
/// weights are uploaded, used and dropped, so the device holds one block's weights (93 MB for the 1.3B model in
/// f16, 327 MB for the 5B) beside the small embeddings and head, which stay for the next pass. The ops, their order
/// and their inputs are those of the resident pass, so the prediction is the same bit for bit; each step uploads
/// the blocks again from the memory-mapped file, which is the price.
///
/// The plan walks the same pieces with `Graph.placeholder`s for the carried tensors, so a full-size pass (hidden
/// states of 192 MiB for the 1.3B model at 480p) is planned on any device, even one whose largest buffer is smaller.
extension WanTransformer3DModel {
    /// The prediction [B, out_channels, F, H, W] f32 of one pass with streamed weights (see `callAsFunction` for the
    /// inputs and the errors); the activations use `arena`, trimmed after every piece, in the type of `precision`
    /// (by default the weights', `activationType`).
    public func streamedPrediction(
        _ inputs: WanTransformerStreamedInputs, arena: ActivationArena, precision: ActivationPrecision? = nil
    ) throws -> Tensor {
        let (grid, groups) = try validate(
            latent: inputs.hiddenStates.shape, text: inputs.encoderHiddenStates.shape, timestep: inputs.timestep)
        let rotary = try WanRotaryPosEmbed(configuration: configuration).tensors(grid, on: weights.device)
        let pass = StreamedPass(weights: weights, arena: arena, mode: .run)
        return try streamedPieces(
            latent: inputs.hiddenStates, text: inputs.encoderHiddenStates, rotary: rotary, grid: grid, groups: groups,
            activations: activationType(precision)
        ) { resident, carried, _, body in
            try pass.piece(resident: resident) { graph in try body(graph, carried.map(graph.input)) }
        }
    }

    /// The device bytes a streamed pass over a latent of `latentShape` and `textLength` text rows reaches at its
    /// highest, worked out piece by piece with `Graph.memoryPlan` without running anything: each block's weights are
    /// uploaded while it is planned, then dropped (the embeddings and head stay), and the tensors carried between
    /// pieces (latent, text, rotary tables, embeddings, hidden states) are counted at their allocated size.
    /// `perTokenTimesteps` plans Wan 2.2's first-frame-clean timesteps instead of one per sample. The figure is that
    /// of every pass after the first, when the head's weights, uploaded at the end of the first, stay on the device
    /// through the blocks too; it includes what is live on the device when it is called.
    public func plannedStreamedPeak(
        latentShape: [Int], textLength: Int, perTokenTimesteps: Bool = false, precision: ActivationPrecision? = nil
    ) throws -> UInt64 {
        try plannedStreamedPass(
            latentShape: latentShape, textLength: textLength, perTokenTimesteps: perTokenTimesteps,
            precision: precision
        ).peakBytes
    }

    /// `plannedStreamedPeak`, and the largest single buffer the pass allocates beside the weights (a carried tensor,
    /// an arena slot or an output), to hold against the device's largest buffer.
    public func plannedStreamedPass(
        latentShape: [Int], textLength: Int, perTokenTimesteps: Bool = false, precision: ActivationPrecision? = nil
    ) throws -> (peakBytes: UInt64, largestBufferBytes: UInt64) {
        let device = weights.device
        let grid = try WanPatchGrid(latent: latentShape, configuration: configuration)
        let timestep: WanTimesteps =
            perTokenTimesteps
            ? .firstFrameClean(
                500, batch: grid.batch, frames: grid.patchFrames, tokensPerFrame: grid.tokensPerFrame)
            : .perSample([Float](repeating: 500, count: grid.batch))
        let textShape = [grid.batch, textLength, configuration.textDim]
        let (_, groups) = try validate(latent: latentShape, text: textShape, timestep: timestep)
        let alignment = max(256, device.physical.features.minStorageBufferOffsetAlignment)
        func planned(_ shape: [Int], _ dtype: DType = .f32) -> PlannedTensor {
            PlannedTensor(shape: shape, dtype: dtype, alignment: alignment)
        }
        let table = planned([grid.tokens, configuration.attentionHeadDim / 2])
        // Each piece's peak, with the bytes of the staying pieces' weights uploaded by then.
        var peaks: [(bytes: UInt64, staying: UInt64)] = []
        var staying: UInt64 = 0
        var largest: UInt64 = 0
        _ = try streamedPieces(
            latent: planned(latentShape), text: planned(textShape), rotary: (table, table), grid: grid,
            groups: groups, activations: activationType(precision)
        ) { resident, carried, held, body in
            let uploadedBefore = weights.uploadedNames
            defer {
                if !resident { weights.evict(weights.uploadedNames.subtracting(uploadedBefore)) }
            }
            let graph = Graph(arena: ActivationArena(device: device))
            let outputs = try body(graph, carried.map { try graph.placeholder(shape: $0.shape, dtype: $0.dtype) })
            if resident {
                staying += weights.uploadedNames.subtracting(uploadedBefore).reduce(0) { total, name in
                    let bytes = UInt64((try? weights.store.info(name))?.byteCount ?? 0)
                    return total + device.memory.allocationSize(for: bytes)
                }
            }
            let plan = try graph.memoryPlan(outputs)
            peaks.append(
                (device.memory.liveBytes + held.map(\.bytes).reduce(0, +) + plan.allocatedPeakBytes, staying))
            largest = held.map(\.bytes).reduce(max(largest, plan.largestBufferBytes), max)
            return outputs.map { planned($0.shape, $0.dtype) }
        }
        return (peaks.map { $0.bytes + staying - $0.staying }.max() ?? 0, largest)
    }

    /// Bytes of the largest block's weights in their file dtypes: with `streamedResidentBytes`, the most weights
    /// streaming holds on the device.
    public var largestStreamedBlockBytes: Int {
        (0..<configuration.numLayers).map { bytes(under: "blocks.\($0)") }.max() ?? 0
    }

    /// Bytes of the weights that stay on the device while streaming: `patch_embedding`, `condition_embedder`, the
    /// head's `scale_shift_table` and `proj_out`.
    public var streamedResidentBytes: Int {
        ["patch_embedding", "condition_embedder", "scale_shift_table", "proj_out"].map(bytes(under:)).reduce(0, +)
    }

    /// Bytes of every tensor the model reads, in their file dtypes.
    public var weightBytes: Int {
        Self.parameterShapes(configuration).map { bytes(under: $0.name) }.reduce(0, +)
    }

    /// A tensor a planned pass carries between pieces: its shape, and the bytes the allocator would give it.
    private struct PlannedTensor {
        let shape: [Int]
        let dtype: DType
        let bytes: UInt64

        init(shape: [Int], dtype: DType, alignment: UInt64) {
            self.shape = shape
            self.dtype = dtype
            let raw = UInt64(shape.reduce(dtype.size, *))
            bytes = (raw + alignment - 1) / alignment * alignment
        }
    }

    /// The pieces of a streamed pass, in order, over carried tensors of any kind (device tensors when it runs, shapes
    /// when it is planned). `piece(resident, inputs, held, body)` records `body` on a graph over `inputs` and returns
    /// its outputs; `held` lists every carried tensor alive meanwhile, the inputs among them.
    private func streamedPieces<Carried>(
        latent: Carried, text: Carried, rotary: (cos: Carried, sin: Carried), grid: WanPatchGrid,
        groups: WanModulationGroups, activations: DType,
        piece: (_ resident: Bool, _ inputs: [Carried], _ held: [Carried], _ body: (Graph, [Value]) throws -> [Value])
            throws -> [Carried]
    ) throws -> Carried {
        let passInputs = [latent, text, rotary.cos, rotary.sin]
        // The piece's output array goes out of scope at once, so each hidden state is freed once the next exists.
        var (hidden, temb, projection, context) = try {
            let embedded = try piece(true, [latent, text], passInputs) { graph, inputs in
                graph.activationDType = activations
                let hidden = try patchEmbedding(graph, inputs[0], grid: grid)
                let (temb, projection) = try conditionEmbedder.time(graph, timesteps: groups.timesteps)
                return [hidden, temb, projection, try conditionEmbedder.text(graph, inputs[1])]
            }
            return (embedded[0], embedded[1], embedded[2], embedded[3])
        }()
        let conditioning = passInputs + [temb, projection, context]
        for index in 0..<configuration.numLayers {
            hidden = try piece(false, [hidden, context, projection, rotary.cos, rotary.sin], conditioning + [hidden]) {
                graph, inputs in
                graph.activationDType = activations
                let blockConditioning = WanBlockConditioning(
                    context: inputs[1], projection: inputs[2], rotary: .init(cos: inputs[3], sin: inputs[4]))
                return [try block(index)(graph, inputs[0], blockConditioning)]
            }[0]
        }
        return try piece(true, [hidden, temb], conditioning + [hidden]) { graph, inputs in
            graph.activationDType = activations
            return [try head(graph, inputs[0], temb: inputs[1], grid: grid)]
        }[0]
    }

    /// File bytes of the tensors under the name `scope` (a tensor or a module).
    private func bytes(under scope: String) -> Int {
        let store = weights.store
        let full = weights.prefix.isEmpty ? scope : "\(weights.prefix).\(scope)"
        return store.tensorNames.filter { $0 == full || $0.hasPrefix(full + ".") }.reduce(0) { total, name in
            total + ((try? store.info(name).byteCount) ?? 0)
        }
    }
}
