import Foundation
import KinoraFormats
import KinoraTensor
import KinoraTestSupport
import XCTest

@testable import KinoraModels

/// MusicGen with f16 and bf16 activations (`--precision`) against the same transformers fp32 references as its f32
/// tests (`Tests/Fixtures/musicgen`, `Tests/Fixtures/encodec`): T5's states, the decoder's logits at once and step by
/// step over a KV cache stored in the activation type, and EnCodec's decode; a checkpoint with f16 or bf16 weights
/// runs in its type unless told otherwise; a generation runs at its planned peak; plans shrink.
///
/// Tolerances (relative L2), as `WanHalfPrecisionTests` argues them: a 16-bit activation is its f32 value rounded
/// once (at most 2⁻¹¹ relative in f16, 2⁻⁸ in bf16), and a tiny model chains a few dozen such roundings, so the bound
/// is ten units of the type's rounding, 5e-3 for f16 and 4e-2 for bf16, for T5 and the decoder (two layers each of
/// norms, projections, attention and feed-forward); the decoded audio, after EnCodec's LSTM and a dozen
/// convolutions at rising rates, gets twice that, as Wan's decoded video does.
final class MusicGenHalfPrecisionTests: ModelTestCase {
    static let tolerances: [(precision: ActivationPrecision, tolerance: Double)] = [(.fp16, 5e-3), (.bf16, 4e-2)]

    // MARK: Text encoder and decoder

    func testTheTextEncoderMatchesTransformersWithHalfActivations() throws {
        let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
        XCTAssertEqual(pipeline.textEncoder.activationType(nil), .f32, "f32 weights run f32 by default")
        let expected = try fixture("musicgen/expected.safetensors")
        let ids = try expected.floats("input_ids").map { Int($0) }
        for (precision, tolerance) in Self.tolerances {
            let graph = makeGraph()
            graph.activationDType = pipeline.textEncoder.activationType(precision)
            let states = try graph.run([pipeline.textEncoder(graph, inputIDs: [ids])])[0].floats()
            let error = relativeL2(states, try expected.floats("encoder_hidden"))
            XCTAssertLessThanOrEqual(error, tolerance, "\(precision)")
            print("MusicGen T5, \(precision) activations vs transformers fp32: relative L2 \(error)")
        }
    }

    /// The logits of transformers' forced run, all positions in one call and then step by step over the cache, from
    /// transformers' text states: the cache's keys and values (and the text's) are stored in the activation type and
    /// take half the bytes of an f32 cache.
    func testTheDecoderMatchesTransformersWithHalfActivationsOverACacheOfTheirType() throws {
        let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
        let decoder = pipeline.decoder
        XCTAssertEqual([decoder.weightsType, decoder.activationType(nil)], [.f32, .f32])
        let expected = try fixture("musicgen/expected.safetensors")
        let forced = try expected.floats("forced.input_ids").map { Int($0) }
        let (codebooks, length, vocabulary) = (4, 9, 64)
        let codes = (0..<codebooks).map { Array(forced[($0 * length)..<(($0 + 1) * length)]) }
        // transformers' logits [2·K, L, V] (conditional rows, then unconditional) as Kinora's [B, L, K, V].
        let reference = try expected.floats("forced.logits")
        func position(_ batch: Int, _ position: Int) -> [Float] {
            (0..<codebooks).flatMap { codebook in
                let row = ((batch * codebooks + codebook) * length + position) * vocabulary
                return Array(reference[row..<(row + vocabulary)])
            }
        }
        let states = try expected.floats("encoder_hidden")
        let textLength = states.count / 12
        func cache(_ precision: ActivationPrecision) throws -> MusicGenKVCache {
            try decoder.makeCache(
                textStates: Tensor(states + [Float](repeating: 0, count: states.count), shape: [2, textLength, 12],
                                   on: device),
                textMask: [[Int](repeating: 1, count: textLength), [Int](repeating: 0, count: textLength)],
                capacity: length, arena: arena, precision: precision)
        }
        func bytes(_ cache: MusicGenKVCache) -> Int {
            (cache.keys + cache.values + cache.textKeys + cache.textValues).reduce(0) { $0 + $1.byteCount }
        }
        let f32Bytes = bytes(try cache(.fp32))
        for (precision, tolerance) in Self.tolerances {
            let whole = try cache(precision)
            XCTAssertEqual(whole.activations, precision.dtype)
            let stored = (whole.keys + whole.values + whole.textKeys + whole.textValues).map(\.dtype)
            XCTAssertEqual(Set(stored), [precision.dtype], "\(precision): the cache follows the activations")
            XCTAssertEqual(bytes(whole) * 2, f32Bytes, "\(precision) halves the cache")
            let all = try decoder.logits([codes, codes], cache: whole, arena: arena, allPositions: true)
            let allExpected = (0..<2).flatMap { batch in (0..<length).flatMap { position(batch, $0) } }
            let allError = relativeL2(all, allExpected)
            XCTAssertLessThanOrEqual(allError, tolerance, "\(precision) at once")

            let stepwise = try cache(precision)
            var fed = 0
            var steps: [Float] = [], stepsExpected: [Float] = []
            for end in [3, 4, 5, 6, 7, 8, 9] {
                let slice = codes.map { Array($0[fed..<end]) }
                steps += try decoder.logits([slice, slice], cache: stepwise, arena: arena)
                stepsExpected += position(0, end - 1) + position(1, end - 1)
                fed = end
            }
            let stepError = relativeL2(steps, stepsExpected)
            XCTAssertLessThanOrEqual(stepError, tolerance, "\(precision) step by step")
            print("MusicGen decoder, \(precision) activations and KV cache vs transformers fp32 logits: relative L2 "
                + "\(allError) at once, \(stepError) step by step")
        }
    }

    // MARK: EnCodec

    /// Both tiny codecs decode transformers' audio with 16-bit activations, the head's output (the LSTM's, which the
    /// pieces read) stored in the activation type; pieces of 2 frames give the whole half-precision decode bit for bit.
    func testEnCodecDecodesAsTransformersWithHalfActivations() throws {
        for name in ["musicgen-tiny", "small"] {
            let fixture = try EncodecFixture(name, test: self)
            let codec = try fixture.model(self)
            XCTAssertEqual(codec.activationType(nil), .f32)
            let codes = try fixture.codes()
            let expected = try fixture.values("decoded")
            for (precision, tolerance) in Self.tolerances {
                let graph = makeGraph()
                graph.activationDType = codec.activationType(precision)
                let hidden = try codec.head(
                    graph, graph.input(codec.embeddings(codes: codes), shape: [1, codec.configuration.hiddenSize,
                                                                                 codes[0].count]))
                XCTAssertEqual(hidden.dtype, precision.dtype, "\(name) \(precision): the head's output")
                let actual = try codec.decode(codes: codes, arena: arena, precision: precision)
                let error = relativeL2(actual, expected)
                XCTAssertLessThanOrEqual(error, 2 * tolerance, "\(name) \(precision)")
                let pieces = try codec.decode(
                    codes: codes, arena: arena, chunkFrames: 2, contextFrames: codec.decodeContextFrames,
                    precision: precision)
                XCTAssertEqual(pieces, actual, "\(name) \(precision): pieces of 2 frames")
                XCTAssertNotEqual(actual, try codec.decode(codes: codes, arena: arena), "\(precision) rounds")
                print("EnCodec \(name), \(precision) activations vs transformers fp32: relative L2 \(error)")
            }
        }
    }

    // MARK: Pipeline, weights' type and plans

    /// A generation with half activations allocates exactly the plan's peak, as the f32 one does
    /// (`MusicGenPipelineTests.testTheMemoryPlanIsTheAllocatorsPeak`).
    func testAGenerationWithHalfActivationsRunsAtItsPlannedPeak() throws {
        for (precision, _) in Self.tolerances {
            let pipeline = try MusicGenPipeline(folder: fixtureURL("musicgen"), device: device)
            pipeline.precision = precision
            try assertRunsAtItsPlannedPeak(pipeline, activations: precision.dtype, "\(precision)")
        }
    }

    /// A MusicGen folder with f16 or bf16 weights runs every model in that type by default, at its planned peak;
    /// `--precision fp32` still runs f32.
    func testAHalfCheckpointRunsInItsWeightsTypeUnlessTold() throws {
        for (weights, activations) in [(WeightDType.f16, DType.f16), (.bf16, .bf16)] {
            let folder = try ConvertedWeightFolder.copy(fixtureURL("musicgen"), as: weights, for: self)
            let pipeline = try MusicGenPipeline(folder: folder, device: device)
            XCTAssertNil(pipeline.precision)
            XCTAssertEqual(
                [pipeline.textEncoder.activationType(nil), pipeline.decoder.activationType(nil),
                 pipeline.codec.activationType(nil)], [activations, activations, activations])
            XCTAssertEqual(
                [pipeline.textEncoder.activationType(.fp32), pipeline.decoder.activationType(.fp32),
                 pipeline.codec.activationType(.fp32)], [.f32, .f32, .f32])
            try assertRunsAtItsPlannedPeak(pipeline, activations: activations, "\(weights.rawValue) weights")
        }
    }

    /// A cue of 40 s (two windows of the tiny model) planned over the folder's shapes: with 16-bit activations every
    /// stage takes less beside the same weights, and the KV cache half the bytes.
    func testHalfPlansAreSmaller() throws {
        func plan(_ precision: ActivationPrecision) throws -> MusicGenMemoryPlan {
            try MusicGenMemoryPlanner.plan(
                folder: fixtureURL("musicgen"), seconds: 40, guidance: true, device: device, precision: precision)
        }
        let full = try plan(.fp32)
        XCTAssertEqual(
            [full.textEncoderActivations, full.decoderActivations, full.codecActivations], [.f32, .f32, .f32])
        for (precision, _) in Self.tolerances {
            let half = try plan(precision)
            XCTAssertEqual(
                [half.textEncoderActivations, half.decoderActivations, half.codecActivations],
                [precision.dtype, precision.dtype, precision.dtype])
            XCTAssertEqual(half.stages.map(\.stage), full.stages.map(\.stage))
            for (f32, f16) in zip(full.stages, half.stages) {
                XCTAssertEqual(f16.weightBytes, f32.weightBytes, f32.stage)
                XCTAssertLessThan(f16.peakBytes - f16.weightBytes, f32.peakBytes - f32.weightBytes,
                                  "\(precision) \(f32.stage)")
                print("MusicGen tiny, 40 s cue, \(f32.stage): planned beside the weights f32 "
                    + "\(f32.peakBytes - f32.weightBytes), \(precision) \(f16.peakBytes - f16.weightBytes)")
            }
            let (f32Cache, halfCache) = (full.stages[1].cacheBytes, half.stages[1].cacheBytes)
            XCTAssertEqual(Double(halfCache) / Double(f32Cache), 0.5, accuracy: 0.02, "\(precision) KV cache")
        }
    }

    /// Generates a short greedy cue from an empty device and asserts the allocator's peak is the plan's, with the
    /// plan in `activations`.
    private func assertRunsAtItsPlannedPeak(
        _ pipeline: MusicGenPipeline, activations: DType, _ message: String, line: UInt = #line
    ) throws {
        let memory = device.memory
        memory.trim()
        let before = memory.liveBytes
        memory.resetPeak()
        let settings = MusicGenPipeline.Settings(prompt: "a red fox in the snow", seconds: 0.17, sampling: .greedy())
        let audio = try pipeline.generate(settings)
        let measured = memory.peakBytes - before
        XCTAssertTrue(audio.samples.allSatisfy(\.isFinite), message, line: line)
        let plan = try MusicGenMemoryPlanner.plan(
            textEncoder: pipeline.textEncoder, decoder: pipeline.decoder,
            promptTokens: pipeline.tokenizer.ids(settings.prompt).count, windowFrames: 17, promptFrames: 0,
            guidance: true, device: device, codec: pipeline.codec, cueFrames: 17, precision: pipeline.precision)
        XCTAssertEqual(
            [plan.textEncoderActivations, plan.decoderActivations, plan.codecActivations],
            [activations, activations, activations], message, line: line)
        XCTAssertEqual(measured, plan.peakBytes, message, line: line)
        print("MusicGen tiny (\(message)): measured peak \(measured), planned "
            + "\(plan.stages.map { "\($0.stage) \($0.peakBytes)" })")
    }
}
