import KinoraTensor

/// diffusers' `OobleckEncoder`: a 7-tap convolution to `encoder_hidden_size` channels, one encoder block per
/// downsampling ratio, Snake, and a 3-tap convolution back to `encoder_hidden_size` channels (the posterior's mean
/// and scale). [N, audio_channels, L] → [N, encoder_hidden_size, L / hop_length].
struct OobleckEncoder: Sendable {
    let weights: DeviceWeights
    let configuration: AutoencoderOobleckConfig

    func callAsFunction(_ graph: Graph, _ audio: Value) throws -> Value {
        var x = try OobleckLayers.conv(graph, audio, weights.scoped("conv1"), padding: 3)
        for (index, stride) in configuration.downsamplingRatios.enumerated() {
            x = try OobleckEncoderBlock(weights: weights.scoped("block.\(index)"), stride: stride)(graph, x)
        }
        x = try OobleckSnake1d(weights: weights.scoped("snake1"))(graph, x)
        return try OobleckLayers.conv(graph, x, weights.scoped("conv2"), padding: 1)
    }
}
