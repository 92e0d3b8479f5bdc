import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// diffusers' `AutoencoderOobleck`: the audio VAE of Stable Audio Open, recorded on a `Graph` with the reference
/// implementation's weight names (weight norm folded at load time, see `OobleckKeyMap`).
///
/// `decode` turns latents [N, 64, T] into stereo audio [N, 2, T · 2048] (the real configuration); `encode` gives the
/// posterior's mean and standard deviation, for audio-to-audio, exactly as diffusers' `vae.encode(x).latent_dist`.
/// Stable Audio's latents are used unscaled: the pipelines pass the DiT's output straight to `decode`.
public final class AutoencoderOobleck: Sendable {
    public let configuration: AutoencoderOobleckConfig
    /// The weights under the layers' names (diffusers', weight norm folded).
    public let weights: DeviceWeights
    let encoder: OobleckEncoder
    let decoder: OobleckDecoder

    /// Checks `configuration` and the shape of every tensor the VAE reads (each failure names the tensor, the shape
    /// the configuration implies and the one found) and that the weights hold no tensor the configuration has no
    /// place for; the weights upload on first use. `weights` must already be under the layers' names: open files
    /// through `init(folder:device:)` / `init(file:device:configuration:)`, or `OobleckKeyMap.layerNames`.
    public init(configuration: AutoencoderOobleckConfig, weights: DeviceWeights) throws {
        let file = weights.store.sourceName
        try configuration.validate(source: file)
        switch weights.layoutMismatch(Self.parameterShapes(configuration)) {
        case nil: break
        case .missing(let tensor, let shape):
            let saved = tensor.hasSuffix(".weight") ? " (diffusers saves it as '\(tensor)_g' and '\(tensor)_v')" : ""
            throw AutoencoderOobleckError.weightsMismatch(
                file: file, tensor: tensor,
                reason: "missing\(saved); expected shape \(shape) for \(configuration.summary)")
        case .wrongShape(let tensor, let expected, let found):
            throw AutoencoderOobleckError.weightsMismatch(
                file: file, tensor: tensor,
                reason: "expected shape \(expected) for \(configuration.summary), found \(found)")
        case .extra(let tensor, let shape):
            throw AutoencoderOobleckError.weightsMismatch(
                file: file, tensor: tensor,
                reason: "shape \(shape) has no place in \(configuration.summary) (a VAE of another size or layout)")
        }
        self.configuration = configuration
        self.weights = weights
        encoder = OobleckEncoder(weights: weights.scoped("encoder"), configuration: configuration)
        decoder = OobleckDecoder(weights: weights.scoped("decoder"), configuration: configuration)
    }

    /// The VAE of a diffusers folder (Stable Audio Open's `vae/`): `config.json` and
    /// `diffusion_pytorch_model.safetensors` (or its shards).
    public convenience init(folder: URL, device: GPUDevice) throws {
        let configuration = try AutoencoderOobleckConfig.load(from: folder.appending(path: "config.json"))
        let store = try OobleckKeyMap.layerNames(WeightFolder.open(folder))
        try self.init(configuration: configuration, weights: DeviceWeights(store: store, device: device))
    }

    /// The VAE in one weight file, with `configuration` (default: Stable Audio Open's): diffusers' names, or
    /// stable-audio-tools' (Stable Audio Open's `model.safetensors`, ComfyUI's `stable_audio_open_1.0.safetensors`,
    /// whose other tensors are left alone); see `OobleckKeyMap`.
    public convenience init(
        file: URL, device: GPUDevice,
        configuration: AutoencoderOobleckConfig = .stableAudioOpen
    ) throws {
        let store = try OobleckKeyMap.layerNames(WeightFile.open(file))
        try self.init(configuration: configuration, weights: DeviceWeights(store: store, device: device))
    }

    // MARK: Decoding and encoding

    /// The audio [N, audio_channels, T · hop_length] decoded from latents [N, decoder_input_channels, T].
    public func decode(_ graph: Graph, _ latents: Value) throws -> Value {
        let channels = configuration.decoderInputChannels
        guard latents.rank == 3, latents.shape[1] == channels, latents.shape[0] >= 1, latents.shape[2] >= 1 else {
            throw AutoencoderOobleckError.invalidInput(
                operation: "decode", shape: latents.shape, reason: "expected latents [N, \(channels), T]")
        }
        return try decoder(graph, latents)
    }

    /// The posterior of `audio` [N, audio_channels, L], L ≥ hop_length: its `mean` and standard deviation `std` =
    /// softplus(scale) + 1e-4, each [N, decoder_input_channels, L / hop_length] (rounded down for a length that is
    /// not a multiple, as diffusers' convolutions do).
    public func encode(_ graph: Graph, _ audio: Value) throws -> (mean: Value, std: Value) {
        let channels = configuration.audioChannels
        let hop = configuration.hopLength
        guard audio.rank == 3, audio.shape[1] == channels, audio.shape[0] >= 1 else {
            throw AutoencoderOobleckError.invalidInput(
                operation: "encode", shape: audio.shape, reason: "expected audio [N, \(channels), L]")
        }
        guard audio.shape[2] >= hop else {
            throw AutoencoderOobleckError.invalidInput(
                operation: "encode", shape: audio.shape,
                reason: "\(audio.shape[2]) samples are fewer than one latent frame (\(hop) samples)")
        }
        let latent = configuration.decoderInputChannels
        let halves = try graph.split(encoder(graph, audio), sizes: [latent, latent], axis: 1)
        return (halves[0], try graph.scale(graph.softplus(halves[1]), by: 1, offset: 1e-4))
    }

    /// A posterior sample `mean + std · noise`, `noise` standard normal of the mean's shape (diffusers'
    /// `latent_dist.sample()`).
    public func sample(_ graph: Graph, mean: Value, std: Value, noise: Value) throws -> Value {
        try graph.add(mean, graph.multiply(std, noise))
    }

    // MARK: Shapes

    /// Every tensor the VAE reads, under the layers' names (weight norm folded), with the shape `configuration`
    /// gives it, in diffusers' order.
    public static func parameterShapes(_ c: AutoencoderOobleckConfig) -> [(name: String, shape: [Int])] {
        var shapes: [(name: String, shape: [Int])] = []
        func conv(_ name: String, _ out: Int, _ input: Int, _ kernel: Int, bias: Bool = true) {
            shapes.append(("\(name).weight", [out, input, kernel]))
            if bias { shapes.append(("\(name).bias", [out])) }
        }
        func snake(_ name: String, _ channels: Int) {
            shapes += [("\(name).alpha", [1, channels, 1]), ("\(name).beta", [1, channels, 1])]
        }
        func residualUnits(_ name: String, _ channels: Int) {
            for unit in 1...OobleckResidualUnit.dilations.count {
                snake("\(name).res_unit\(unit).snake1", channels)
                conv("\(name).res_unit\(unit).conv1", channels, channels, 7)
                snake("\(name).res_unit\(unit).snake2", channels)
                conv("\(name).res_unit\(unit).conv2", channels, channels, 1)
            }
        }
        let encoder = c.encoderDims
        conv("encoder.conv1", encoder[0], c.audioChannels, 7)
        for (index, stride) in c.downsamplingRatios.enumerated() {
            residualUnits("encoder.block.\(index)", encoder[index])
            snake("encoder.block.\(index).snake1", encoder[index])
            conv("encoder.block.\(index).conv1", encoder[index + 1], encoder[index], 2 * stride)
        }
        snake("encoder.snake1", encoder[encoder.count - 1])
        conv("encoder.conv2", c.encoderHiddenSize, encoder[encoder.count - 1], 3)
        let decoder = c.decoderDims
        conv("decoder.conv1", decoder[0], c.decoderInputChannels, 7)
        for (index, stride) in c.upsamplingRatios.enumerated() {
            snake("decoder.block.\(index).snake1", decoder[index])
            // A transposed convolution's weight is [in, out, k].
            shapes.append(("decoder.block.\(index).conv_t1.weight", [decoder[index], decoder[index + 1], 2 * stride]))
            shapes.append(("decoder.block.\(index).conv_t1.bias", [decoder[index + 1]]))
            residualUnits("decoder.block.\(index)", decoder[index + 1])
        }
        snake("decoder.snake1", c.decoderChannels)
        conv("decoder.conv2", c.audioChannels, c.decoderChannels, 7, bias: false)
        return shapes
    }
}
