import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The Wan family with f16 and bf16 activations (`--precision`) against the same committed f32 references as its
/// f32 tests (diffusers' tiny transformer, the block-causal pass, the VAE decode), with 16-bit storage shown to be
/// used; the time embedding and modulation stay f32; and the memory plans, which shrink with 16-bit activations.
///
/// Tolerances (relative L2): a 16-bit activation is its f32 value rounded once, a relative error of at most 2⁻¹¹
/// (4.9e-4) in f16 and 2⁻⁸ (3.9e-3) in bf16. The tiny models chain a few dozen such roundings (two blocks: norms,
/// projections, attention, the feed-forward) whose errors add up in quadrature more than linearly, so the bound is
/// ten units of the type's rounding: 5e-3 for f16, 4e-2 for bf16 (diffusers' own bf16-weight run of the same
/// transformer is 3.8e-3 from f32, `WanTransformer3DModelTests.bf16Tolerance`). The decoded video, [−1, 1] pixels
/// after 20-odd layers of 3-D convolutions, gets twice that.
final class WanHalfPrecisionTests: ModelTestCase {
    static let tolerances: [(precision: ActivationPrecision, tolerance: Double)] = [(.fp16, 5e-3), (.bf16, 4e-2)]

    // MARK: Transformer

    func testTheTransformerMatchesDiffusersWithHalfActivations() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try fixture.model(self)
        XCTAssertEqual(model.weightsType, .f32)
        XCTAssertEqual(model.activationType(nil), .f32, "f32 weights run f32 by default")
        let expected = try fixture.values("sample")
        var f32: [Float] = []
        for (precision, tolerance) in [(ActivationPrecision.fp32, 1e-4)] + Self.tolerances {
            let graph = makeGraph()
            graph.activationDType = model.activationType(precision)
            XCTAssertEqual(graph.activationDType, precision.dtype)
            let (x, context) = try fixture.inputs(graph, latent: "hidden_states", text: "encoder_hidden_states")
            let output = try model(
                graph, hiddenStates: x, timestep: fixture.timestep, encoderHiddenStates: context)
            XCTAssertEqual(output.dtype, .f32, "the prediction leaves in f32")
            // A block stores its hidden states in the activation type; the time path and modulation stay f32.
            let (grid, groups) = try model.validate(
                latent: x.shape, text: context.shape, timestep: fixture.timestep)
            let (temb, projection) = try model.conditionEmbedder.time(graph, timesteps: groups.timesteps)
            XCTAssertEqual([temb.dtype, projection.dtype], [.f32, .f32], "\(precision)")
            let rotary = try WanRotaryPosEmbed(configuration: model.configuration).values(graph, grid)
            let hidden = try model.block(0)(
                graph, model.patchEmbedding(graph, x, grid: grid),
                WanBlockConditioning(
                    context: model.conditionEmbedder.text(graph, context), projection: projection,
                    rotary: .init(cos: rotary.cos, sin: rotary.sin)))
            XCTAssertEqual(hidden.dtype, precision.dtype, "a block's output is stored in the activation type")

            let actual = try graph.run([output])[0].floats()
            let error = relativeL2(actual, expected)
            XCTAssertLessThanOrEqual(error, tolerance, "\(precision)")
            print("Wan transformer, \(precision) activations vs diffusers fp32: relative L2 \(error)")
            if precision == .fp32 {
                f32 = actual
            } else {
                XCTAssertNotEqual(actual, f32, "\(precision) rounds something")
            }
        }
    }

    /// Streaming the weights runs each piece in the same activation type: the same prediction, bit for bit.
    func testTheStreamedPassRunsInTheSameActivationType() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try fixture.model(self)
        let graph = makeGraph()
        graph.activationDType = .f16
        let (x, context) = try fixture.inputs(graph, latent: "hidden_states", text: "encoder_hidden_states")
        let resident = try graph.run([
            model(graph, hiddenStates: x, timestep: fixture.timestep, encoderHiddenStates: context)
        ])[0].floats()
        let inputs = WanTransformerStreamedInputs(
            hiddenStates: try Tensor(fixture.values("hidden_states"), shape: x.shape, on: device),
            timestep: try fixture.timestep,
            encoderHiddenStates: try Tensor(fixture.values("encoder_hidden_states"), shape: context.shape, on: device))
        let streamed = try model.streamedPrediction(inputs, arena: arena, precision: .fp16)
        XCTAssertEqual(streamed.dtype, .f32)
        XCTAssertEqual(try streamed.floats(), resident)
        let f32 = try model.streamedPrediction(inputs, arena: arena).floats()
        XCTAssertNotEqual(f32, resident)
    }

    // MARK: Causal transformer and its KV cache

    /// The block-causal pass and the chunked generation over the KV cache against diffusers with the mask
    /// (`WanCausalTransformerTests.testTheBlockCausalPassMatchesDiffusersWithTheMask`'s reference): the cache
    /// defaults to the activation type and takes half the bytes.
    func testTheCausalTransformerAndItsCacheMatchDiffusersWithHalfActivations() throws {
        let transformer = try WanTransformer3DModel(
            folder: fixtureURL("wan-pipeline/t2v/transformer"), device: device)
        let expected = try fixture("wan-causal/expected.safetensors")
        let (frames, height, width, chunkFrames) = (6, 4, 6, 2)
        let latents = try expected.floats("latents")
        let channels = transformer.configuration.inChannels
        let out = transformer.configuration.outChannels
        let text = try Tensor(expected.floats("text"), shape: [1, 12, 32], on: device)
        let timesteps = try expected.floats("timesteps")
        let reference = try expected.floats("prediction")
        func slice(_ video: [Float], _ range: Range<Int>, channels: Int) -> [Float] {
            latentFrames(video, range, channels: channels, frames: frames, height: height, width: width)
        }
        let tokens: Int = frames * (height / 2) * (width / 2)
        let f32Bytes: Int = 2 * 2 * tokens * transformer.configuration.innerDim * 4
        for (precision, tolerance) in Self.tolerances {
            let causal = try WanCausalTransformer(transformer: transformer, arena: arena, precision: precision)
            XCTAssertEqual([causal.activations, causal.cacheType], [precision.dtype, precision.dtype])
            let whole = try causal.predictWhole(
                Tensor(latents, shape: [1, channels, frames, height, width], on: device), timesteps: timesteps,
                text: text, chunkFrames: chunkFrames)
            XCTAssertEqual(whole.dtype, .f32)
            let error = relativeL2(try whole.floats(), reference)
            XCTAssertLessThanOrEqual(error, tolerance, "\(precision) whole")
            print("causal Wan, \(precision) block-causal pass vs diffusers: relative L2 \(error)")

            var cache = WanKVCache()
            for start in stride(from: 0, to: frames, by: chunkFrames) {
                let range = start..<(start + chunkFrames)
                let chunk = try Tensor(
                    slice(latents, range, channels: channels), shape: [1, channels, chunkFrames, height, width],
                    on: device)
                let prediction = try causal.predict(
                    chunk, timesteps: Array(timesteps[range]), text: text, cache: cache
                ).floats()
                let chunkError = relativeL2(prediction, slice(reference, range, channels: out))
                XCTAssertLessThanOrEqual(chunkError, tolerance, "\(precision) frames \(range)")
                print("causal Wan, \(precision) frames \(range) over the cache vs diffusers: relative L2 \(chunkError)")
                cache = try causal.extend(cache, with: chunk, text: text)
            }
            let stored = cache.keys.joined().map(\.dtype) + cache.values.joined().map(\.dtype)
            XCTAssertEqual(Set(stored), [precision.dtype])
            XCTAssertEqual(cache.bytes * 2, f32Bytes, "\(precision) halves the cache")
            let once = try causal.textKeyValues(text)
            XCTAssertEqual(Set(once.keys.map(\.dtype)), [precision.dtype], "the prompt's keys and values")
        }
    }

    // MARK: VAE

    /// The VAE's streamed decode with 16-bit activations (and its feature cache in the same type) against diffusers'
    /// fp32 decode; a VAE with f16 weights still runs f32 unless told otherwise, as Wan's and diffusers' do.
    func testTheStreamedDecodeMatchesDiffusersWithHalfActivations() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let vae = try fixture.model(self)
        XCTAssertEqual(vae.activationType(nil), .f32)
        let halfWeights = try AutoencoderKLWan(
            configuration: vae.configuration,
            weights: DeviceWeights(
                store: SafetensorsFile(url: fixtureURL("wan-vae/wan21/diffusion_pytorch_model.safetensors")),
                device: device))
        XCTAssertEqual(halfWeights.weightsType, .f16)
        XCTAssertEqual(halfWeights.activationType(nil), .f32, "the Wan VAE runs f32 unless told otherwise")
        XCTAssertEqual(halfWeights.activationType(.fp16), .f16)
        let expected = try fixture.values("decoded")
        let shape = try fixture.shape("decoded")
        for (precision, tolerance) in Self.tolerances {
            let decoder = WanVAEStreamingDecoder(
                vae: vae, arena: arena, cacheType: precision.dtype, precision: precision)
            XCTAssertEqual(decoder.activations, precision.dtype)
            var calls: [[Float]] = []
            for index in 0..<3 {
                let video = try decoder.decode(fixture.latents(index..<(index + 1), on: device))
                calls.append(try video.floats())
            }
            let cached = decoder.caches.flatMap { $0.slots }.compactMap { slot -> DType? in
                if case .frames(let tensor) = slot { return tensor.dtype }
                return nil
            }
            XCTAssertFalse(cached.isEmpty)
            XCTAssertEqual(Set(cached), [precision.dtype])
            // The calls' [1, 3, f, H, W] outputs joined along time.
            let plane = shape[3] * shape[4]
            let counts = calls.map { $0.count / (3 * plane) }
            var video: [Float] = []
            for channel in 0..<3 {
                for (call, count) in zip(calls, counts) {
                    video += call[(channel * count * plane)..<((channel + 1) * count * plane)]
                }
            }
            let error = relativeL2(video, expected)
            XCTAssertLessThanOrEqual(error, 2 * tolerance, "\(precision)")
            print("Wan 2.1 VAE streamed decode, \(precision) activations vs diffusers fp32: relative L2 \(error)")
        }
    }

    // MARK: Plans

    /// The clip plan with f16 activations, planned without running (the tiny Wan 2.1 at 512x384, 81 frames: 32
    /// patches across, its rotary table's reach): the decode (activations and feature cache) takes less than with
    /// f32, and so does the whole plan. The denoise stage takes no more; it peaks at ops that still write f32 until
    /// matmul, attention and the norms have 16-bit kernels, and then takes less.
    func testTheClipPlanShrinksWithHalfActivations() throws {
        let tiny = try WanStageComponents(folder: fixtureURL("wan-pipeline/t2v"))
        func plan(_ precision: ActivationPrecision) throws -> WanMemoryPlan {
            try WanMemoryPlanner.plan(
                tiny,
                WanGenerationRequest(
                    width: 512, height: 384, frames: 81, guidance: false, promptTokens: 12, precision: precision),
                budget: .max, device: device)
        }
        let (full, half) = (try plan(.fp32), try plan(.fp16))
        XCTAssertEqual(half.request.precision, .fp16)
        XCTAssertTrue(half.stage(.denoise)!.tactic.contains("f16 activations"), half.stage(.denoise)!.tactic)
        for stage in [WanStagePlan.Kind.denoise, .decode] {
            let (f32, f16) = (full.stage(stage)!.peakBytes, half.stage(stage)!.peakBytes)
            print("tiny Wan 2.1 512x384x81 \(stage.rawValue): planned peak f32 \(f32), f16 \(f16)")
            XCTAssertLessThanOrEqual(f16, f32, "\(stage.rawValue)")
        }
        XCTAssertLessThan(half.stage(.decode)!.peakBytes, full.stage(.decode)!.peakBytes)
        XCTAssertLessThan(half.peakBytes, full.peakBytes)
    }

    /// With f16 activations every stage of a clip, and a stream, still peak at the planned bytes to the byte.
    func testHalfActivationsRunAtTheirPlannedPeaks() throws {
        let tiny = try WanStageComponents(folder: fixtureURL("wan-pipeline/t2v"))
        let request = WanGenerationRequest(width: 48, height: 32, frames: 9, promptTokens: 12, precision: .fp16)
        let plan = try WanMemoryPlanner.plan(tiny, request, budget: .max, device: device)
        for measurement in try WanStageRunner(components: tiny, plan: plan, device: device).runAll(steps: 1) {
            XCTAssertEqual(
                measurement.measuredPeakBytes, measurement.predictedPeakBytes, measurement.stage.rawValue)
        }
        let stream = try WanStreamPlanner.plan(
            tiny,
            WanStreamRequest(
                width: 64, height: 64, latentFrames: 6, chunkFrames: 2, cacheType: .f16, promptTokens: 12,
                precision: .fp16),
            budget: .max, device: device)
        let measured = try WanStreamRunner(components: tiny, plan: stream, device: device).run(chunks: 3)
        XCTAssertEqual(measured.measuredPeakBytes, measured.predictedPeakBytes, stream.stream.tactic)
        XCTAssertEqual(measured.kvCacheBytes, UInt64(2 * 2 * 6 * 16 * 40 * 2))
    }

    /// The stream plan with f16 activations and a cache of their type: the KV cache and the prompt's keys and values
    /// take half the bytes, and the stream's peak drops.
    func testTheStreamPlanShrinksWithHalfActivations() throws {
        let tiny = try WanStageComponents(folder: fixtureURL("wan-pipeline/t2v"))
        func stream(_ precision: ActivationPrecision) throws -> WanStreamStagePlan {
            try WanStreamPlanner.streamStage(
                tiny,
                WanStreamRequest(
                    width: 512, height: 384, latentFrames: 21, chunkFrames: 3, cacheType: precision.dtype,
                    promptTokens: 12, precision: precision),
                budget: .max, device: device)
        }
        let (full, half) = (try stream(.fp32), try stream(.fp16))
        print("tiny Wan 2.1 stream 512x384, 21 latent frames: planned peak f32 \(full.peakBytes) "
            + "(KV cache \(full.kvCacheBytes)), f16 \(half.peakBytes) (KV cache \(half.kvCacheBytes))")
        // Half the bytes, up to each piece's rounding to the allocator's alignment.
        XCTAssertEqual(Double(half.kvCacheBytes) / Double(full.kvCacheBytes), 0.5, accuracy: 0.01)
        XCTAssertLessThan(half.textKeyValueBytes, full.textKeyValueBytes)
        XCTAssertTrue(half.tactic.contains("f16 activations; f16 KV cache"), half.tactic)
        XCTAssertLessThan(half.decoderCacheBytes, full.decoderCacheBytes)
        XCTAssertLessThan(half.peakBytes, full.peakBytes)
    }
}
