import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The MusicGen decoder, its delay pattern and its sampling against transformers 5.23.0's
/// `MusicgenForConditionalGeneration` on a tiny random-weight folder (`Tests/Fixtures/musicgen`,
/// `scripts/fixtures/make_musicgen_fixtures.py`).
final class MusicGenDecoderTests: ModelTestCase {
    private struct Fixture {
        let configuration: MusicGenConfig
        let decoder: MusicGenDecoder
        let expected: SafetensorsFile
        /// The prompt's T5 states [1, L, 12] and mask, computed by our encoder.
        let textStates: [Float]
        let textMask: [Int]
    }

    private func fixture() throws -> Fixture {
        let folder = fixtureURL("musicgen")
        let configuration = try MusicGenConfig.load(from: folder.appending(path: "config.json"))
        let store = try WeightFile.open(folder.appending(path: "model.safetensors"))
        let root = DeviceWeights(store: store, device: device)
        let decoder = try MusicGenDecoder(
            configuration: configuration.decoder, textWidth: configuration.textEncoder.dModel,
            weights: root.scoped("decoder"), projection: root.scoped("enc_to_dec_proj"))
        let expected = try SafetensorsFile(url: folder.appending(path: "expected.safetensors"))
        let encoder = try UMT5EncoderModel(
            configuration: configuration.textEncoder,
            weights: DeviceWeights(store: UMT5KeyMap.transformersNames(store), device: device))
        let ids = try expected.floats("input_ids").map { Int($0) }
        let graph = makeGraph()
        let states = try graph.run([try encoder(graph, inputIDs: [ids])])[0].floats()
        return Fixture(configuration: configuration, decoder: decoder, expected: expected, textStates: states,
                       textMask: ids.map { _ in 1 })
    }

    func testTheTextEncoderAndTokenizerMatchTransformers() throws {
        let fixture = try fixture()
        let tokenizer = try T5Tokenizer(folder: fixtureURL("musicgen"))
        let ids = try fixture.expected.floats("input_ids").map { Int($0) }
        XCTAssertEqual(tokenizer.ids("a red fox in the snow"), ids)
        assertClose(fixture.textStates, try fixture.expected.floats("encoder_hidden"), tolerance: 1e-5)
    }

    func testLogitsMatchTransformersAtOnceAndStepByStep() throws {
        let fixture = try fixture()
        let decoder = fixture.decoder
        let forced = try fixture.expected.floats("forced.input_ids").map { Int($0) }
        let (codebooks, length, vocabulary) = (4, 9, 64)
        let codes = (0..<codebooks).map { Array(forced[($0 * length)..<(($0 + 1) * length)]) }
        // transformers' logits [2·K, L, V]: conditional rows (codebooks 0..<K), then unconditional.
        let reference = try fixture.expected.floats("forced.logits")
        func expected(batch: Int, position: Int) -> [Float] {
            (0..<codebooks).flatMap { codebook in
                let row = ((batch * codebooks + codebook) * length + position) * vocabulary
                return Array(reference[row..<(row + vocabulary)])
            }
        }
        let states = fixture.textStates + [Float](repeating: 0, count: fixture.textStates.count)
        let textLength = fixture.textMask.count
        func cache() throws -> MusicGenKVCache {
            try decoder.makeCache(
                textStates: Tensor(states, shape: [2, textLength, 12], on: device),
                textMask: [fixture.textMask, [Int](repeating: 0, count: textLength)], capacity: length, arena: arena)
        }
        // All positions in one call.
        let all = try decoder.logits([codes, codes], cache: cache(), arena: arena, allPositions: true)
        for batch in 0..<2 {
            for position in 0..<length {
                let start = (batch * length + position) * codebooks * vocabulary
                assertClose(Array(all[start..<(start + codebooks * vocabulary)]),
                            expected(batch: batch, position: position), tolerance: 2e-5, "batch \(batch) @\(position)")
            }
        }
        // Three positions to fill the cache, then one at a time: each call's last position.
        let stepwise = try cache()
        var fed = 0
        for end in [3, 4, 5, 6, 7, 8, 9] {
            let slice = codes.map { Array($0[fed..<end]) }
            let logits = try decoder.logits([slice, slice], cache: stepwise, arena: arena)
            fed = end
            XCTAssertEqual(stepwise.filled, end)
            for batch in 0..<2 {
                let start = batch * codebooks * vocabulary
                assertClose(Array(logits[start..<(start + codebooks * vocabulary)]),
                            expected(batch: batch, position: end - 1), tolerance: 2e-5, "batch \(batch) @\(end - 1)")
            }
        }
    }

    func testGreedyDecodingMatchesTransformersCodeForCode() throws {
        let fixture = try fixture()
        let expected = try fixture.expected.floats("greedy.codes").map { Int($0) }
        let pattern = try MusicGenDelayPattern(codebooks: 4, audioChannels: 1, frames: 17, pad: 64)
        var steps: [Int] = []
        let codes = try fixture.decoder.generate(
            .init(textStates: fixture.textStates, textMask: fixture.textMask, pattern: pattern,
                  sampling: .greedy(guidanceScale: 3), seed: 0),
            arena: arena, progress: { step, total in steps.append(step); XCTAssertEqual(total, 20) })
        XCTAssertEqual(steps, Array(1...20))
        XCTAssertEqual(Array(codes.joined()), expected)
    }

    func testAnAudioPromptIsContinuedAsTransformersDoes() throws {
        let fixture = try fixture()
        let prompt = try fixture.expected.floats("continued.prompt").map { Int($0) }
        let expected = try fixture.expected.floats("continued.codes").map { Int($0) }
        let pattern = try MusicGenDelayPattern(
            codebooks: 4, audioChannels: 1, frames: 17, pad: 64,
            prompt: (0..<4).map { Array(prompt[($0 * 6)..<(($0 + 1) * 6)]) })
        let codes = try fixture.decoder.generate(
            .init(textStates: fixture.textStates, textMask: fixture.textMask, pattern: pattern,
                  sampling: .greedy(guidanceScale: 3), seed: 0), arena: arena)
        XCTAssertEqual(Array(codes.joined()), expected)
    }

    func testSampledStepsScoreAsTransformersDoes() throws {
        // transformers samples with torch.multinomial; its chosen codes are fed back, and each step's processed
        // scores (guidance, temperature 0.8, top-k 8, top-p 0.9) must match, the filtered codes at −∞ alike.
        let fixture = try fixture()
        let sequences = try fixture.expected.floats("sampled.sequences").map { Int($0) }
        let reference = try fixture.expected.floats("sampled.scores")
        let forced = (0..<4).map { Array(sequences[($0 * 12)..<(($0 + 1) * 12)]) }
        let pattern = try MusicGenDelayPattern(codebooks: 4, audioChannels: 1, frames: 9, pad: 64)
        var steps: [[[Float]]] = []
        _ = try fixture.decoder.generate(
            .init(textStates: fixture.textStates, textMask: fixture.textMask, pattern: pattern,
                  sampling: MusicGenSampling(temperature: 0.8, topK: 8, topP: 0.9, guidanceScale: 3), seed: 1),
            arena: arena, forced: forced, scores: { steps.append($0) })
        XCTAssertEqual(steps.count, 12)
        let ours = Array(steps.joined().joined())
        XCTAssertEqual(ours.map(\.isFinite), reference.map(\.isFinite), "the same codes filtered")
        let finite = ours.indices.filter { reference[$0].isFinite }
        assertClose(finite.map { ours[$0] }, finite.map { reference[$0] }, tolerance: 2e-5)
        XCTAssertGreaterThan(finite.count, 12 * 4, "more than one code kept in some steps")
    }

    func testTheDelayPatternPlacesFramesAndPadsAsTransformers() throws {
        // transformers' docstring example: 4 codebooks, 8 positions; P pads, the rest generated.
        let pattern = try MusicGenDelayPattern(codebooks: 4, audioChannels: 1, frames: 4, pad: 9)
        XCTAssertEqual(pattern.positions, 8)
        let rows = (0..<4).map { codebook in (0..<8).map { pattern.fixed(codebook: codebook, position: $0) ?? -1 } }
        XCTAssertEqual(rows, [[9, -1, -1, -1, -1, 9, 9, 9], [9, 9, -1, -1, -1, -1, 9, 9],
                              [9, 9, 9, -1, -1, -1, -1, 9], [9, 9, 9, 9, -1, -1, -1, -1]])
        let stereo = try MusicGenDelayPattern(codebooks: 4, audioChannels: 2, frames: 3, pad: 9)
        XCTAssertEqual((0..<4).map(stereo.delay), [0, 0, 1, 1])
        XCTAssertThrowsError(try MusicGenDelayPattern(codebooks: 4, audioChannels: 1, frames: 2, pad: 9))
        XCTAssertThrowsError(try MusicGenDelayPattern(codebooks: 4, audioChannels: 1, frames: 3, pad: 9,
                                                      prompt: [[1, 2, 3]] + Array(repeating: [1, 2, 3], count: 3)))
    }
}
