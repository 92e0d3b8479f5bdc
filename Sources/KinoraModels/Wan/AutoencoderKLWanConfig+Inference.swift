import KinoraFormats

extension AutoencoderKLWanConfig {
    /// The configuration a checkpoint's tensors (under diffusers' names) describe: the layout from the residual
    /// down blocks' presence, widths from `conv_in` and each level's first residual block, the level and block
    /// counts, which boundaries have a time convolution, channels from `conv_in` / `conv_out`, and the patch size
    /// from the input channels (3 · p² for an RGB video). `latents_mean` / `latents_std` leave no trace in the
    /// weights: a 16-channel VAE takes Wan 2.1's, a 48-channel one Wan 2.2's, others none (the latent
    /// normalisation then refuses to run). The shapes are checked against it when the model is built.
    public static func inferred(from store: any WeightStore) throws -> AutoencoderKLWanConfig {
        let table = ShapeTable(store)
        let isResidual = table.contains("encoder.down_blocks.0.resnets.0.conv1.weight")
        let convIn = try table.shape("encoder.conv_in.weight", rank: 5)
        let decoderIn = try table.shape("decoder.conv_in.weight", rank: 5)
        let convOut = try table.shape("decoder.conv_out.weight", rank: 5)
        let levels = try table.count(under: "decoder.up_blocks.")
        let numResBlocks = try table.count(under: "decoder.up_blocks.0.resnets.") - 1
        let baseDim = convIn[0]
        var probe = AutoencoderKLWanConfig(
            baseDim: baseDim, dimMult: Array(repeating: 1, count: levels), numResBlocks: numResBlocks,
            temperalDownsample: Array(repeating: false, count: max(levels - 1, 0)), isResidual: isResidual)
        let file = store.sourceName
        func multiplier(_ width: Int, of base: Int, _ tensor: String) throws -> Int {
            guard base > 0, width % base == 0 else {
                throw WeightsError.unrecognizedCheckpoint(
                    file: file, reason: "'\(tensor)' has \(width) channels, not a multiple of the base width \(base)")
            }
            return width / base
        }
        var dimMult: [Int] = []
        for level in 0..<levels {
            let name = "encoder.\(AutoencoderKLWan.encoderResnet(probe, level, 0)).conv1.weight"
            dimMult.append(try multiplier(try table.shape(name, rank: 5)[0], of: baseDim, name))
        }
        probe.dimMult = dimMult
        let temporal = (0..<max(levels - 1, 0)).map { level in
            table.contains("encoder.\(AutoencoderKLWan.encoderDownsampler(probe, level)).time_conv.weight")
        }
        let decoderDim = try multiplier(convOut[1], of: dimMult[0], "decoder.conv_out.weight")
        let zDim = decoderIn[1]
        let (inChannels, outChannels) = (convIn[1], convOut[0])
        var patchSize: Int?
        if inChannels > 3, inChannels % 3 == 0 {
            let side = Int(Double(inChannels / 3).squareRoot().rounded())
            if side * side * 3 == inChannels { patchSize = side }
        }
        let statistics: ([Float], [Float]) =
            switch zDim {
            case 16: (wan21LatentsMean, wan21LatentsStd)
            case 48: (wan22LatentsMean, wan22LatentsStd)
            default: ([], [])
            }
        var configuration = AutoencoderKLWanConfig(
            baseDim: baseDim, decoderBaseDim: decoderDim == baseDim ? nil : decoderDim, zDim: zDim,
            dimMult: dimMult, numResBlocks: numResBlocks, temperalDownsample: temporal,
            latentsMean: statistics.0, latentsStd: statistics.1, isResidual: isResidual, inChannels: inChannels,
            outChannels: outChannels, patchSize: patchSize, scaleFactorTemporal: nil, scaleFactorSpatial: nil)
        configuration.scaleFactorTemporal = configuration.temporalCompression
        configuration.scaleFactorSpatial = configuration.spatialCompression
        return configuration
    }
}
