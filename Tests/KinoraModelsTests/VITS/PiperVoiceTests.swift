import Foundation
import KinoraFormats
@testable import KinoraModels
import KinoraTestSupport
import XCTest

/// The voice's behaviour beyond the deterministic conformance runs: seeded noise, and typed errors for bad input.
final class PiperVoiceTests: ModelTestCase {
    private let ids = [1, 0, 59, 0, 2]

    func testPiperNoiseFollowsTheSeed() throws {
        let voice = try PiperTestVoice.opened.get()
        let noisy = PiperScales(noiseScale: 0.667, lengthScale: 1, noiseW: 0.8)
        let first = try voice.infer(phonemeIDs: ids, speaker: nil, scales: noisy, seed: 7)
        let again = try voice.infer(phonemeIDs: ids, speaker: nil, scales: noisy, seed: 7)
        let other = try voice.infer(phonemeIDs: ids, speaker: nil, scales: noisy, seed: 8)
        XCTAssertEqual(first.audio, again.audio, "the same seed must give the same waveform")
        XCTAssertNotEqual(first.logDurations, other.logDurations, "noise_w must move the durations")
        XCTAssertEqual(first.audio.count, first.durations.reduce(0, +) * voice.hopLength)
        XCTAssertTrue(first.audio.allSatisfy { $0.isFinite && abs($0) <= 1 })
    }

    func testPiperRejectsBadInputWithTypedErrors() throws {
        let voice = try PiperTestVoice.opened.get()
        let scales = PiperScales(noiseScale: 0, lengthScale: 1, noiseW: 0)
        func expect(_ error: VITSError, _ body: () throws -> [Float]) {
            XCTAssertThrowsError(try body()) { XCTAssertEqual($0 as? VITSError, error, "\($0)") }
        }
        expect(.emptyInput) { try voice.synthesize(phonemeIDs: [], speaker: nil, scales: scales, seed: 0) }
        expect(.phonemeIDOutOfRange(id: 256, position: 2, vocabularySize: 256)) {
            try voice.synthesize(phonemeIDs: [1, 0, 256, 2], speaker: nil, scales: scales, seed: 0)
        }
        expect(.phonemeIDOutOfRange(id: -1, position: 0, vocabularySize: 256)) {
            try voice.synthesize(phonemeIDs: [-1], speaker: nil, scales: scales, seed: 0)
        }
        expect(.speakerOutOfRange(speaker: 1, speakers: 1)) {
            try voice.synthesize(phonemeIDs: ids, speaker: 1, scales: scales, seed: 0)
        }
        let slow = PiperScales(noiseScale: 0, lengthScale: 0, noiseW: 0)
        expect(.invalidScales(slow)) { try voice.synthesize(phonemeIDs: ids, speaker: nil, scales: slow, seed: 0) }
        let wild = PiperScales(noiseScale: .nan, lengthScale: 1, noiseW: 0)
        XCTAssertThrowsError(try voice.synthesize(phonemeIDs: ids, speaker: nil, scales: wild, seed: 0))
    }

    func testPiperChecksTheVoiceConfigAgainstTheWeights() throws {
        let url = try InstalledPiperVoice.url()
        XCTAssertThrowsError(try PiperVoice(model: url, sampleRate: 22050, speakers: 4, device: device)) {
            XCTAssertEqual($0 as? VITSError, .configurationMismatch(
                file: url.path, field: "num_speakers", configured: 4, weights: "no speaker embedding (1 speaker)"))
        }
        XCTAssertThrowsError(try PiperVoice(model: url, sampleRate: 0, speakers: 1, device: device))
    }

    func testVITSHyperparametersOfTheJoeMediumVoice() throws {
        let weights = try PiperWeights(onnx: ONNXFile(url: InstalledPiperVoice.url()))
        let c = try VITSConfiguration(weights: weights)
        // Piper's medium-quality VitsConfig (vits/config.py) and the resblock dilations its export recorded.
        XCTAssertEqual([c.vocabularySize, c.hiddenChannels, c.interChannels, c.filterChannels, c.heads, c.layers,
                        c.kernelSize, c.windowSize, c.relativeHeads], [256, 192, 192, 768, 2, 6, 3, 4, 1])
        XCTAssertEqual([c.durationFilterChannels, c.durationKernelSize, c.durationConvLayers, c.durationFlows,
                        c.splineBins], [192, 3, 3, 4, 10])
        XCTAssertEqual(c.splineTailBound, 5)
        XCTAssertEqual([c.flowCouplings, c.flowHiddenChannels, c.flowKernelSize, c.flowDilationRate, c.flowLayers],
                       [4, 192, 5, 1, 4])
        XCTAssertEqual(c.resblock, "2")
        XCTAssertEqual(c.resblockKernelSizes, [3, 5, 7])
        XCTAssertEqual(c.resblockDilationSizes, [[1, 2], [2, 6], [3, 12]])
        XCTAssertEqual(c.upsampleRates, [8, 8, 4])
        XCTAssertEqual(c.upsampleKernelSizes, [16, 16, 8])
        XCTAssertEqual([c.upsampleInitialChannel, c.preKernelSize, c.postKernelSize, c.hopLength], [256, 7, 7, 256])
        XCTAssertEqual([c.speakers, c.ginChannels], [1, 0])
        // Renamed and folded initializers, found through the nodes that read them.
        XCTAssertEqual(try weights.shape("enc_p.emb.weight"), [256, 192])
        XCTAssertEqual(try weights.shape("flow.flows.6.enc.in_layers.3.weight"), [384, 192, 5])
        XCTAssertEqual(try weights.shape("flow.flows.0.enc.res_skip_layers.3.weight"), [192, 192, 1])
        let logs = try weights.floats("dp.flows.0.logs")
        let folded = try weights.onnx.floats("/dp/flows.0/Exp_output_0")
        for (log, scale) in zip(logs, folded) { XCTAssertEqual(exp(-log), scale, accuracy: 1e-6) }
    }
}
