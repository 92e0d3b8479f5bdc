import KinoraTensor

/// diffusers' `OobleckDecoder`: a 7-tap convolution from the latent channels, one decoder block per upsampling
/// ratio (the downsampling ratios reversed), Snake, and a 7-tap convolution without bias to the audio channels.
/// [N, decoder_input_channels, T] → [N, audio_channels, T · hop_length].
struct OobleckDecoder: Sendable {
    let weights: DeviceWeights
    let configuration: AutoencoderOobleckConfig

    func callAsFunction(_ graph: Graph, _ latents: Value) throws -> Value {
        var x = try OobleckLayers.conv(graph, latents, weights.scoped("conv1"), padding: 3)
        for (index, stride) in configuration.upsamplingRatios.enumerated() {
            x = try OobleckDecoderBlock(weights: weights.scoped("block.\(index)"), stride: stride)(graph, x)
        }
        x = try OobleckSnake1d(weights: weights.scoped("snake1"))(graph, x)
        return try OobleckLayers.conv(graph, x, weights.scoped("conv2"), padding: 3, hasBias: false)
    }
}
