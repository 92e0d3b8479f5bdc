import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// diffusers' `StableAudioProjectionModel`: maps the T5 hidden states (`text_projection`, a linear layer or the
/// identity) and the seconds-start and seconds-total numbers (`StableAudioNumberConditioner`s) to the conditioning
/// width, and `conditioning` assembles them as `StableAudioPipeline` feeds the DiT.
///
/// Weights are read under diffusers' names in their file dtype, the arithmetic in f32, the activations stored in the
/// graph's activation type (`StableAudioProjectionModel+Precision`).
public final class StableAudioProjectionModel: Sendable {
    public let configuration: StableAudioProjectionConfig
    /// The weights under diffusers' names.
    let weights: DeviceWeights

    /// Checks `configuration` and the shape of every tensor the model reads, and that the weights hold nothing else
    /// (each failure names the tensor); the weights upload on first use.
    public init(configuration: StableAudioProjectionConfig, weights: DeviceWeights) throws {
        try configuration.validate(source: weights.store.sourceName)
        try StableAudioDiTLayers.checkWeights(
            Self.parameterShapes(configuration), in: weights,
            sizes: "text_encoder_dim \(configuration.textEncoderDim), conditioning_dim "
                + "\(configuration.conditioningDim)" + (configuration.secondsStart ? "" : ", seconds total alone"))
        self.configuration = configuration
        self.weights = weights
    }

    /// The projection model of a diffusers folder (`projection_model/` of a Stable Audio pipeline): `config.json`
    /// and `diffusion_pytorch_model.safetensors`.
    public convenience init(folder: URL, device: GPUDevice) throws {
        let configuration = try StableAudioProjectionConfig.load(from: folder.appending(path: "config.json"))
        try self.init(
            configuration: configuration, weights: DeviceWeights(store: WeightFolder.open(folder), device: device))
    }

    /// Every tensor the model reads, under diffusers' names, with the shape `configuration` gives it.
    public static func parameterShapes(_ configuration: StableAudioProjectionConfig) -> [(name: String, shape: [Int])] {
        let (width, features) = (configuration.conditioningDim, StableAudioProjectionConfig.numberFeatureDim)
        var shapes: [(name: String, shape: [Int])] = []
        if configuration.projectsText {
            shapes += [
                ("text_projection.weight", [width, configuration.textEncoderDim]), ("text_projection.bias", [width]),
            ]
        }
        let conditioners =
            configuration.secondsStart
            ? ["start_number_conditioner", "end_number_conditioner"] : ["end_number_conditioner"]
        for conditioner in conditioners {
            let embedding = conditioner + ".time_positional_embedding."
            shapes += [
                (embedding + "0.weights", [features / 2]), (embedding + "1.weight", [width, features + 1]),
                (embedding + "1.bias", [width]),
            ]
        }
        return shapes
    }

    /// `text_projection` of the text encoder's hidden states [B, L, text_encoder_dim]: [B, L, conditioning_dim].
    public func textHiddenStates(_ graph: Graph, _ text: Value) throws -> Value {
        let c = configuration
        guard text.rank == 3, text.shape.allSatisfy({ $0 > 0 }), text.shape[2] == c.textEncoderDim else {
            throw StableAudioDiTError.invalidInput(
                name: "text_hidden_states", shape: text.shape,
                reason: "expected [B, L, \(c.textEncoderDim)]: the text encoder's hidden states, text_encoder_dim "
                    + "\(c.textEncoderDim) wide")
        }
        guard c.projectsText else { return text }
        return try StableAudioDiTLayers.linear(
            graph, weights.scoped("text_projection"), text, inputs: c.textEncoderDim, outputs: c.conditioningDim,
            bias: true)
    }

    /// `start_number_conditioner` of one number of seconds per sample: [B, 1, conditioning_dim].
    public func secondsStartHiddenStates(_ graph: Graph, _ seconds: [Float]) throws -> Value {
        try number(graph, "start_number_conditioner", seconds, name: "start_seconds")
    }

    /// `end_number_conditioner` (seconds total) of one number of seconds per sample: [B, 1, conditioning_dim].
    public func secondsEndHiddenStates(_ graph: Graph, _ seconds: [Float]) throws -> Value {
        try number(graph, "end_number_conditioner", seconds, name: "end_seconds")
    }

    /// The DiT's conditioning as `StableAudioPipeline` assembles it from `text` [B, L, text_encoder_dim] and one
    /// start and end per sample: the projected text (its rows multiplied by `textMask` [B, L] of ones and zeros when
    /// given, so padding tokens become zeros after the projection, as `encode_prompt` does), start and end tokens
    /// along the tokens (`encoder_hidden_states` [B, L + 2, conditioning_dim]) and the start and end tokens side by
    /// side (`global_hidden_states` [B, 1, 2 · conditioning_dim]). Without a seconds-start conditioner (Stable Audio
    /// Open Small) the tokens are the text and the total ([B, L + 1, D]) and the global token is the total's
    /// ([B, 1, D]); `secondsStart` is then not read (but still checked to hold one number per prompt).
    public func conditioning(
        _ graph: Graph, text: Value, textMask: Value? = nil, secondsStart: [Float], secondsEnd: [Float]
    ) throws -> (encoderHiddenStates: Value, globalHiddenStates: Value) {
        var projected = try textHiddenStates(graph, text)
        if let textMask {
            guard textMask.shape == Array(text.shape.prefix(2)) else {
                throw StableAudioDiTError.invalidInput(
                    name: "attention_mask", shape: textMask.shape,
                    reason: "expected \(Array(text.shape.prefix(2))): one weight per text token")
            }
            projected = try graph.multiply(projected, graph.reshape(textMask, textMask.shape + [1]))
        }
        for (name, seconds) in [("start_seconds", secondsStart), ("end_seconds", secondsEnd)]
        where seconds.count != text.shape[0] {
            throw StableAudioDiTError.invalidInput(
                name: name, shape: [seconds.count], reason: "expected one number per prompt (\(text.shape[0]))")
        }
        let end = try secondsEndHiddenStates(graph, secondsEnd)
        guard configuration.secondsStart else {
            // Stable Audio Open Small: the text, then seconds total; the global token is seconds total alone.
            return (try graph.concat([projected, end], axis: 1), end)
        }
        let start = try secondsStartHiddenStates(graph, secondsStart)
        return (try graph.concat([projected, start, end], axis: 1), try graph.concat([start, end], axis: 2))
    }

    /// `StableAudioNumberConditioner`: each number clamped to [min_value, max_value] and normalised to [0, 1] in
    /// PyTorch's f32 steps; `StableAudioPositionalEmbedding` gives [n, sin(2π·n·w), cos(2π·n·w)] (in f32 whatever the
    /// activation type, see `StableAudioProjectionModel+Precision`), and the linear layer maps those 257 features to
    /// the conditioning width.
    private func number(_ graph: Graph, _ conditioner: String, _ seconds: [Float], name: String) throws -> Value {
        let c = configuration
        guard !seconds.isEmpty, seconds.allSatisfy(\.isFinite) else {
            throw StableAudioDiTError.invalidInput(
                name: name, shape: [seconds.count], reason: "expected finite numbers of seconds, got \(seconds)")
        }
        let range = Float(Double(c.maxValue) - Double(c.minValue))
        let normalized = seconds.map { (Swift.min(Swift.max($0, c.minValue), c.maxValue) - c.minValue) / range }
        let features = StableAudioProjectionConfig.numberFeatureDim
        let embedding = weights.scoped(conditioner + ".time_positional_embedding")
        let fourier = try graph.withActivations(.f32) {
            let numbers = try graph.input(normalized, shape: [seconds.count, 1])
            let frequencies = try graph.reshape(
                embedding.value("0.weights", in: graph, shape: [features / 2]), [1, features / 2])
            let arguments = try graph.scale(graph.multiply(numbers, frequencies), by: 2 * Float.pi)
            return try graph.concat(
                [numbers, graph.unary(.sin, arguments), graph.unary(.cos, arguments)], axis: 1)
        }
        let projected = try StableAudioDiTLayers.linear(
            graph, embedding.scoped("1"), fourier, inputs: features + 1, outputs: c.conditioningDim, bias: true)
        return try graph.reshape(projected, [seconds.count, 1, c.conditioningDim])
    }
}
