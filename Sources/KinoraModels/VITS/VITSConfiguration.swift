/// The hyper-parameters of Piper's `SynthesizerTrn` (vits/models.py; Piper's `VitsConfig` names), worked out from a
/// voice's weight shapes and from the attributes its export recorded on the graph's nodes — never assumed, so any
/// Piper quality level (x_low … high) and any speaker count opens.
struct VITSConfiguration: Sendable, Equatable {
    // Text encoder (`enc_p`).
    var vocabularySize: Int
    var hiddenChannels: Int
    var interChannels: Int
    var filterChannels: Int
    var heads: Int
    var layers: Int
    var kernelSize: Int
    var windowSize: Int
    /// Heads in `emb_rel_k`/`emb_rel_v`: 1 when the heads share the relative embeddings (`heads_share`).
    var relativeHeads: Int

    // Stochastic duration predictor (`dp`).
    var durationFilterChannels: Int
    var durationKernelSize: Int
    /// Depth of every DDSConv in the predictor (`n_layers=3` in Piper).
    var durationConvLayers: Int
    /// `n_flows`: ConvFlow + Flip pairs after the ElementwiseAffine.
    var durationFlows: Int
    var splineBins: Int
    var splineTailBound: Float

    // Normalising flow (`flow`).
    var flowCouplings: Int
    var flowHiddenChannels: Int
    var flowKernelSize: Int
    var flowDilationRate: Int
    var flowLayers: Int

    // HiFi-GAN generator (`dec`).
    /// "1" (three dilated conv pairs) or "2" (two dilated convs).
    var resblock: String
    var resblockKernelSizes: [Int]
    var resblockDilationSizes: [[Int]]
    var upsampleRates: [Int]
    var upsampleInitialChannel: Int
    var upsampleKernelSizes: [Int]
    var preKernelSize: Int
    var postKernelSize: Int

    // Speakers.
    var speakers: Int
    /// Width of the speaker embedding `g` (0 for single-speaker voices).
    var ginChannels: Int

    /// Output samples per encoder frame: the product of the upsample rates (Piper's `hop_length`).
    var hopLength: Int { upsampleRates.reduce(1, *) }
}

extension VITSConfiguration {
    /// Reads every hyper-parameter from `weights`; throws `VITSError` naming the first tensor or attribute that is
    /// missing or inconsistent.
    init(weights w: PiperWeights) throws {
        let file = w.sourceName
        func fail(_ name: String, _ reason: String) -> VITSError {
            .underivableHyperparameter(file: file, name: name, reason: reason)
        }
        func shape(_ name: String, rank: Int) throws -> [Int] {
            guard w.contains(name) else {
                throw VITSError.notAPiperVoice(file: file, reason: "tensor '\(name)' is missing")
            }
            let shape = try w.shape(name)
            guard shape.count == rank, shape.allSatisfy({ $0 > 0 }) else {
                throw VITSError.notAPiperVoice(file: file, reason: "tensor '\(name)' has shape \(shape), expected "
                    + "rank \(rank)")
            }
            return shape
        }
        func dilation(_ module: String) throws -> Int {
            guard let node = w.convolution(module), let value = node.ints("dilations")?.first, value >= 1 else {
                throw fail("dilation", "no Conv node for \(module) with a 'dilations' attribute")
            }
            return Int(value)
        }

        let embedding = try shape("enc_p.emb.weight", rank: 2)
        vocabularySize = embedding[0]
        hiddenChannels = embedding[1]
        layers = w.indices("enc_p.encoder.attn_layers.", ".conv_q.weight").count
        guard layers > 0 else { throw fail("n_layers", "no enc_p.encoder.attn_layers.N.conv_q.weight") }
        let relative = try shape("enc_p.encoder.attn_layers.0.emb_rel_k", rank: 3)
        guard relative[1] % 2 == 1, hiddenChannels % relative[2] == 0 else {
            throw fail("n_heads/window_size", "emb_rel_k has shape \(relative) for \(hiddenChannels) hidden channels")
        }
        windowSize = (relative[1] - 1) / 2
        heads = hiddenChannels / relative[2]
        relativeHeads = relative[0]
        guard relativeHeads == 1 || relativeHeads == heads else {
            throw fail("heads_share", "emb_rel_k has \(relativeHeads) heads for \(heads) attention heads")
        }
        let ffn = try shape("enc_p.encoder.ffn_layers.0.conv_1.weight", rank: 3)
        filterChannels = ffn[0]
        kernelSize = ffn[2]
        guard ffn[1] == hiddenChannels, kernelSize % 2 == 1 else {
            throw fail("kernel_size", "ffn conv_1 has shape \(ffn); an odd kernel over \(hiddenChannels) channels "
                + "is needed")
        }
        let projection = try shape("enc_p.proj.weight", rank: 3)
        guard projection[0] % 2 == 0 else { throw fail("inter_channels", "enc_p.proj has shape \(projection)") }
        interChannels = projection[0] / 2

        durationFilterChannels = try shape("dp.pre.weight", rank: 3)[0]
        durationKernelSize = try shape("dp.convs.convs_sep.0.weight", rank: 3)[2]
        durationConvLayers = w.indices("dp.convs.convs_sep.", ".weight").count
        let convFlows = w.indices("dp.flows.", ".proj.weight")
        guard let lastFlow = convFlows.last, lastFlow % 2 == 1 else {
            throw fail("n_flows", "no dp.flows.N.proj.weight with odd N (ConvFlow layers sit at 1, 3, 5, ...)")
        }
        durationFlows = (lastFlow + 1) / 2
        for index in stride(from: 3, through: lastFlow, by: 2) where !convFlows.contains(index) {
            throw VITSError.notAPiperVoice(file: file, reason: "tensor 'dp.flows.\(index).proj.weight' is missing")
        }
        _ = try shape("dp.flows.0.m", rank: 2)
        _ = try shape("dp.flows.0.logs", rank: 2)
        let splineProjection = try shape("dp.flows.\(lastFlow).proj.weight", rank: 3)
        guard (splineProjection[0] + 1) % 3 == 0 else {
            throw fail("num_bins", "dp.flows.\(lastFlow).proj has \(splineProjection[0]) outputs, not 3·bins − 1")
        }
        splineBins = (splineProjection[0] + 1) / 3
        guard let tailBound = try w.scalarOperand(op: "LessOrEqual", module: "dp.flows.\(lastFlow)"), tailBound > 0
        else {
            throw fail("tail_bound", "no LessOrEqual node with a positive scalar bound in /dp/flows.\(lastFlow)/")
        }
        splineTailBound = tailBound

        let couplings = w.indices("flow.flows.", ".pre.weight")
        guard !couplings.isEmpty, couplings == Array(stride(from: 0, to: 2 * couplings.count, by: 2)) else {
            throw fail("n_flows", "flow.flows.N.pre.weight indices \(couplings) are not 0, 2, 4, ...")
        }
        flowCouplings = couplings.count
        let couplingPre = try shape("flow.flows.0.pre.weight", rank: 3)
        guard couplingPre[1] * 2 == interChannels else {
            throw fail("inter_channels", "flow.flows.0.pre has shape \(couplingPre) for \(interChannels) channels")
        }
        flowHiddenChannels = couplingPre[0]
        flowLayers = w.indices("flow.flows.0.enc.in_layers.", ".weight").count
        guard flowLayers > 0 else { throw fail("n_layers", "no flow.flows.0.enc.in_layers.N.weight") }
        flowKernelSize = try shape("flow.flows.0.enc.in_layers.0.weight", rank: 3)[2]
        flowDilationRate = flowLayers > 1 ? try dilation("flow.flows.0.enc.in_layers.1") : 1

        let preConv = try shape("dec.conv_pre.weight", rank: 3)
        upsampleInitialChannel = preConv[0]
        preKernelSize = preConv[2]
        postKernelSize = try shape("dec.conv_post.weight", rank: 3)[2]
        let ups = w.indices("dec.ups.", ".weight")
        guard !ups.isEmpty else { throw fail("upsample_rates", "no dec.ups.N.weight") }
        upsampleKernelSizes = try ups.map { try shape("dec.ups.\($0).weight", rank: 3)[2] }
        upsampleRates = try ups.map { index in
            guard let node = w.convolution("dec.ups.\(index)"), node.opType == "ConvTranspose",
                  let stride = node.ints("strides")?.first, stride >= 1 else {
                throw fail("upsample_rates", "no ConvTranspose node for dec.ups.\(index) with a 'strides' attribute")
            }
            return Int(stride)
        }
        let resblocks = w.indices("dec.resblocks.", w.contains("dec.resblocks.0.convs1.0.weight")
                                      ? ".convs1.0.weight" : ".convs.0.weight")
        guard !resblocks.isEmpty, resblocks.count % ups.count == 0 else {
            throw fail("resblock_kernel_sizes", "\(resblocks.count) resblocks for \(ups.count) upsampling stages")
        }
        resblock = w.contains("dec.resblocks.0.convs1.0.weight") ? "1" : "2"
        let kernels = resblocks.count / ups.count
        let convs = resblock == "1" ? "convs1" : "convs"
        resblockKernelSizes = try (0..<kernels).map { try shape("dec.resblocks.\($0).\(convs).0.weight", rank: 3)[2] }
        resblockDilationSizes = try (0..<kernels).map { block in
            try w.indices("dec.resblocks.\(block).\(convs).", ".weight").map {
                try dilation("dec.resblocks.\(block).\(convs).\($0)")
            }
        }

        if w.contains("emb_g.weight") {
            let speakerEmbedding = try shape("emb_g.weight", rank: 2)
            speakers = speakerEmbedding[0]
            ginChannels = speakerEmbedding[1]
        } else {
            speakers = 1
            ginChannels = 0
        }
    }
}
