import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// The three sampling scales of a Piper voice (`inference` in its `.onnx.json`): the prior's noise, the duration
/// multiplier (larger is slower speech) and the duration predictor's noise.
public struct PiperScales: Sendable, Equatable {
    public var noiseScale: Float
    public var lengthScale: Float
    public var noiseW: Float

    public init(noiseScale: Float, lengthScale: Float, noiseW: Float) {
        self.noiseScale = noiseScale
        self.lengthScale = lengthScale
        self.noiseW = noiseW
    }
}

/// A Piper VITS voice (an `.onnx` export) running natively on KinoraTensor: phoneme ids in, a waveform out.
///
/// The `.onnx` file is read for its weights only (memory-mapped; uploaded to the device on first use) and for the
/// hyper-parameters its shapes and node attributes record; the network is Piper's `SynthesizerTrn.infer` written
/// out in the blocks of this folder. One utterance runs as two graphs: the text encoder and the stochastic
/// duration predictor, then — after the durations are read back and the prior is stretched to frames on the host —
/// the reversed flow and the HiFi-GAN generator. Calls are serialised (the voice owns one activation arena).
public final class PiperVoice: @unchecked Sendable {
    public let sampleRate: Int
    public let speakers: Int
    let configuration: VITSConfiguration
    let weights: DeviceWeights
    private let arena: ActivationArena
    private let textEncoder: TextEncoder
    private let speakerEmbedding: [Float]
    private let lock = NSLock()

    /// Opens a Piper VITS export; `sampleRate`/`speakers` cross-checked against the weights.
    ///
    /// The weights do not record the sample rate, so it is only checked to be positive; `speakers` must match the
    /// rows of the speaker embedding `emb_g` (1 when there is none).
    public init(model: URL, sampleRate: Int, speakers: Int, device: GPUDevice) throws {
        let store = try PiperWeights(onnx: ONNXFile(url: model))
        configuration = try VITSConfiguration(weights: store)
        guard sampleRate > 0 else {
            throw VITSError.configurationMismatch(file: model.path, field: "audio.sample_rate", configured: sampleRate,
                                                  weights: "a positive rate")
        }
        guard speakers == configuration.speakers else {
            throw VITSError.configurationMismatch(
                file: model.path, field: "num_speakers", configured: speakers,
                weights: configuration.ginChannels == 0
                    ? "no speaker embedding (1 speaker)" : "\(configuration.speakers) rows in emb_g.weight")
        }
        self.sampleRate = sampleRate
        self.speakers = speakers
        weights = DeviceWeights(store: store, device: device)
        arena = ActivationArena(device: device)
        textEncoder = try TextEncoder(weights: weights.scoped("enc_p"), configuration: configuration)
        speakerEmbedding = configuration.ginChannels > 0 ? try store.floats("emb_g.weight") : []
    }

    /// Phoneme ids the voice knows: valid ids are 0 ..< vocabularySize.
    public var vocabularySize: Int { configuration.vocabularySize }

    /// Output samples per phoneme-duration frame (Piper's `hop_length`).
    public var hopLength: Int { configuration.hopLength }

    /// Bytes of the weights uploaded to the device so far (all of them after the first `synthesize`).
    public var deviceWeightBytes: Int {
        lock.withLock { weights.uploadedBytes }
    }

    /// Bytes of the voice's activation arena: the peak activation memory of the utterances run so far (about
    /// 24 MB per second of audio for a medium voice, nearly all in the generator's last stage).
    public var activationBytes: UInt64 {
        lock.withLock { arena.bytes }
    }

    /// Mono samples in [-1, 1] at `sampleRate` for one utterance's phoneme ids.
    public func synthesize(phonemeIDs: [Int], speaker: Int?, scales: PiperScales, seed: UInt64) throws -> [Float] {
        try infer(phonemeIDs: phonemeIDs, speaker: speaker, scales: scales, seed: seed).audio
    }

    /// The intermediate results of one utterance, for conformance tests against onnxruntime.
    struct Inference {
        /// The prior per phoneme id, [inter, T] row-major.
        var mean: [Float]
        var logScale: [Float]
        /// The duration predictor's output [T] and the frames per id.
        var logDurations: [Float]
        var durations: [Int]
        /// The flow's output (the generator's input), [inter, frames].
        var latent: [Float]
        var audio: [Float]
    }

    /// `SynthesizerTrn.infer` for one utterance. Noise comes from the `PhiloxNormal` stream of `seed`: the duration
    /// predictor's [2, T] draw first, the prior's [inter, frames] draw next.
    func infer(phonemeIDs: [Int], speaker: Int?, scales: PiperScales, seed: UInt64) throws -> Inference {
        try validate(phonemeIDs: phonemeIDs, scales: scales)
        let speakerRow = try resolveSpeaker(speaker)
        lock.lock()
        defer { lock.unlock() }
        let c = configuration
        let length = phonemeIDs.count

        let encoderGraph = Graph(arena: arena)
        let encoded = try textEncoder(encoderGraph, phonemeIDs: phonemeIDs)
        let durationNoise = try encoderGraph.randomNormal(shape: [1, 2, length], seed: seed)
        let predictor = StochasticDurationPredictor(weights: weights.scoped("dp"), configuration: c)
        let logw = try predictor(encoderGraph, encoded.hidden, g: speakerValue(encoderGraph, speakerRow),
                                 noise: durationNoise, noiseScale: scales.noiseW)
        let encoderOutputs = try encoderGraph.run([encoded.mean, encoded.logScale, logw])
        let mean = try encoderOutputs[0].floats(), logScale = try encoderOutputs[1].floats()
        let logDurations = try encoderOutputs[2].floats()

        let durations = try LengthRegulator.durations(logDurations: logDurations, lengthScale: scales.lengthScale)
        let frames = LengthRegulator.frameCount(durations)
        let decoderGraph = Graph(arena: arena)
        let g = try speakerValue(decoderGraph, speakerRow)
        let frameShape = [1, c.interChannels, frames]
        let frameMean = try decoderGraph.input(
            LengthRegulator.expand(mean, channels: c.interChannels, durations: durations), shape: frameShape)
        let frameLogScale = try decoderGraph.input(
            LengthRegulator.expand(logScale, channels: c.interChannels, durations: durations), shape: frameShape)
        let priorNoise = try decoderGraph.randomNormal(shape: frameShape, seed: seed, offset: UInt64(2 * length))
        let spread = try decoderGraph.multiply(priorNoise, decoderGraph.exp(frameLogScale))
        let zP = try decoderGraph.add(frameMean, decoderGraph.scale(spread, by: scales.noiseScale))
        let z = try ResidualCouplingBlock(weights: weights.scoped("flow"), configuration: c).reverse(decoderGraph, zP,
                                                                                                     g: g)
        let audio = try Generator(weights: weights.scoped("dec"), configuration: c)(decoderGraph, z, g: g)
        let decoderOutputs = try decoderGraph.run([z, audio])
        return Inference(mean: mean, logScale: logScale, logDurations: logDurations, durations: durations,
                         latent: try decoderOutputs[0].floats(), audio: try decoderOutputs[1].floats())
    }

    private func validate(phonemeIDs: [Int], scales: PiperScales) throws {
        guard !phonemeIDs.isEmpty else { throw VITSError.emptyInput }
        if let position = phonemeIDs.firstIndex(where: { $0 < 0 || $0 >= configuration.vocabularySize }) {
            throw VITSError.phonemeIDOutOfRange(id: phonemeIDs[position], position: position,
                                                vocabularySize: configuration.vocabularySize)
        }
        let values = [scales.noiseScale, scales.lengthScale, scales.noiseW]
        guard values.allSatisfy(\.isFinite), scales.lengthScale > 0, scales.noiseScale >= 0, scales.noiseW >= 0 else {
            throw VITSError.invalidScales(scales)
        }
    }

    /// The row of `emb_g` to condition on: nil for single-speaker voices (which accept no speaker or speaker 0);
    /// multi-speaker voices default to speaker 0, as Piper does.
    private func resolveSpeaker(_ speaker: Int?) throws -> Int? {
        let chosen = speaker ?? 0
        guard chosen >= 0, chosen < speakers else {
            throw VITSError.speakerOutOfRange(speaker: chosen, speakers: speakers)
        }
        return configuration.ginChannels > 0 ? chosen : nil
    }

    /// `emb_g(sid).unsqueeze(-1)`: the speaker's embedding as [1, gin, 1], nil for single-speaker voices.
    private func speakerValue(_ graph: Graph, _ row: Int?) throws -> Value? {
        guard let row else { return nil }
        let width = configuration.ginChannels
        return try graph.input(Array(speakerEmbedding[(row * width)..<((row + 1) * width)]), shape: [1, width, 1])
    }
}
