import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `WanTransformer3DModel` against diffusers 0.42.1 on tiny random Wan DiTs: one timestep per sample, per-token
/// timesteps (Wan 2.2's first frame at t = 0, and one per token), a batch of two with a zero-padded prompt, a patch of
/// (2, 2, 2), weights in f32, f16, bf16 and float8, and bad input.
final class WanTransformer3DModelTests: ModelTestCase {
    /// fp32 weights: relative L2 error bound against diffusers.
    static let fp32Tolerance = 1e-4
    /// Half weights against diffusers' fp32 model run on the same rounded weights: Kinora computes in f32 from the
    /// stored weights, so only summation order differs.
    static let roundedWeightsTolerance = 1e-4
    /// fp16 weights against the fp32 reference: the weights' rounding (relative 2⁻¹¹) through two blocks, measured
    /// 4.3e-4 in diffusers itself.
    static let fp16Tolerance = 1e-3
    /// bf16 weights against the fp32 reference: relative 2⁻⁸ rounding, measured 3.8e-3 in diffusers itself.
    static let bf16Tolerance = 1e-2

    private func assertMatches(
        _ actual: [Float], _ expected: [Float], _ name: String, tolerance: Double = fp32Tolerance,
        line: UInt = #line
    ) {
        assertClose(actual, expected, tolerance: tolerance, name, line: line)
        print("Wan transformer fp32: \(name) relative L2 \(relativeL2(actual, expected))")
    }

    func testWanTransformerMatchesDiffusersInFP32() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try WanTransformer3DModel(folder: fixture.folder, device: device)
        XCTAssertEqual(model.configuration, fixture.configuration)
        XCTAssertEqual(model.configuration.rotarySplits, [8, 6, 6])
        let actual = try fixture.predict(model, self, timestep: fixture.timestep)
        assertMatches(actual, try fixture.values("sample"), "sample")
    }

    /// The patch embedding, the condition embedder's outputs and each block's output on their own, so a mismatch
    /// points at its layer.
    func testWanTransformerPartsMatchDiffusersOneByOne() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try fixture.model(self)
        let graph = makeGraph()
        let (x, context) = try fixture.inputs(graph, latent: "hidden_states", text: "encoder_hidden_states")
        let (grid, groups) = try model.validate(latent: x.shape, text: context.shape, timestep: fixture.timestep)
        XCTAssertEqual(grid.tokens, 45)
        let rotary = try WanRotaryPosEmbed(configuration: model.configuration).values(graph, grid)
        let patches = try model.patchEmbedding(graph, x, grid: grid)
        let (temb, projection) = try model.conditionEmbedder.time(graph, timesteps: groups.timesteps)
        let text = try model.conditionEmbedder.text(graph, context)
        XCTAssertEqual(projection.shape, [6, 1, 40])
        let conditioning = WanBlockConditioning(
            context: text, projection: projection, rotary: .init(cos: rotary.cos, sin: rotary.sin))
        var hidden = patches
        var outputs: [(String, Value)] = [
            ("patch_embeds", patches), ("temb", temb), ("timestep_proj", try graph.reshape(projection, [1, 240])),
            ("text_embeds", text),
        ]
        for index in 0..<2 {
            hidden = try model.block(index)(graph, hidden, conditioning)
            outputs.append(("block_output.\(index)", hidden))
        }
        for ((name, _), tensor) in zip(outputs, try graph.run(outputs.map(\.1))) {
            assertMatches(try tensor.floats(), try fixture.values(name), name)
        }
    }

    /// Wan 2.2's `expand_timesteps`: the first latent frame's tokens at t = 0. The modulation is then one row per
    /// latent frame; a different timestep for every token makes it one row per token.
    func testPerTokenTimestepsMatchDiffusers() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try fixture.model(self)
        let perToken = WanTimesteps.perToken(try fixture.rows("per_token_timestep"))
        XCTAssertEqual(perToken, .firstFrameClean(937.5, batch: 1, frames: 3, tokensPerFrame: 15))
        XCTAssertEqual(
            try perToken.groups(batch: 1, frames: 3, tokensPerFrame: 15),
            WanModulationGroups(timesteps: [0, 937.5, 937.5], tokensPerGroup: 15))
        let ragged = WanTimesteps.perToken(try fixture.rows("ragged_timestep"))
        XCTAssertEqual(try ragged.groups(batch: 1, frames: 3, tokensPerFrame: 15).tokensPerGroup, 1)
        // One timestep repeated per token is the per-sample pass, run as one row.
        let repeated = WanTimesteps.perToken([[Float](repeating: 937.5, count: 45)])
        XCTAssertEqual(try repeated.groups(batch: 1, frames: 3, tokensPerFrame: 15).tokensPerGroup, 45)

        let actual = try fixture.predict(model, self, timestep: perToken)
        assertMatches(actual, try fixture.values("per_token_sample"), "per_token_sample")
        XCTAssertGreaterThan(relativeL2(actual, try fixture.values("sample")), 0.1, "t = 0 on frame 0 matters")
        assertMatches(
            try fixture.predict(model, self, timestep: ragged), try fixture.values("ragged_sample"), "ragged_sample")
        assertClose(
            try fixture.predict(model, self, timestep: repeated), try fixture.values("sample"),
            tolerance: Self.fp32Tolerance, "repeated per-token timestep")
    }

    /// Two samples with their own timesteps and prompts, prompt 1 zero-padded after 5 rows (the padded rows are
    /// attended to, as in diffusers), per sample and per token.
    func testBatchOfTwoWithAPaddedPromptMatchesDiffusers() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try fixture.model(self)
        let text = try fixture.values("batch_encoder_hidden_states")
        XCTAssertTrue(text[(9 + 5) * 16..<(18 * 16)].allSatisfy { $0 == 0 })
        for (timestep, name) in [
            (WanTimesteps.perSample(try fixture.values("batch_timestep")), "batch_sample"),
            (.perToken(try fixture.rows("batch_per_token_timestep")), "batch_per_token_sample"),
        ] {
            let actual = try fixture.predict(
                model, self, latent: "batch_hidden_states", text: "batch_encoder_hidden_states", timestep: timestep)
            assertMatches(actual, try fixture.values(name), name)
        }
    }

    func testPatchOfTwoFramesMatchesDiffusers() throws {
        let fixture = try WanTransformerFixture("patch222", test: self)
        XCTAssertEqual(fixture.configuration.patchSize, [2, 2, 2])
        let model = try WanTransformer3DModel(folder: fixture.folder, device: device)
        let actual = try fixture.predict(model, self, timestep: .perSample(try fixture.values("timestep")))
        XCTAssertEqual(actual.count, 5 * 4 * 6 * 10)
        assertMatches(actual, try fixture.values("sample"), "patch (2, 2, 2) sample")
    }

    func testHalfWeightsComputeInFP32FromTheStoredValues() throws {
        let fixture = try WanTransformerFixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let reference = try fixture.values("sample")
        for (dtype, variant, tolerance) in [
            (WeightDType.f16, "fp16", Self.fp16Tolerance), (.bf16, "bf16", Self.bf16Tolerance),
        ] {
            let url = try fixture.write(to: folder.appending(path: "\(variant).safetensors"), as: dtype)
            let store = try SafetensorsFile(url: url)
            XCTAssertEqual(try store.info("blocks.1.ffn.net.2.weight").dtype, dtype)
            let actual = try fixture.predict(fixture.model(self, store: store), self, timestep: fixture.timestep)
            let rounded = try fixture.values("sample.\(variant)_weights")
            assertClose(actual, rounded, tolerance: Self.roundedWeightsTolerance, "\(variant) vs rounded-weight run")
            assertClose(actual, reference, tolerance: tolerance, "\(variant) vs fp32 reference")
            print(
                "Wan transformer \(variant) weights: relative L2 \(relativeL2(actual, rounded)) against diffusers on "
                    + "the same rounded weights, \(relativeL2(actual, reference)) against the fp32 reference")
        }
    }

    /// A ComfyUI-style scaled float8 file (every matrix e4m3fn with its `scale_weight`): the matrices stay float8 on
    /// the device and give what the same weights expanded to f32 give.
    func testScaledFloat8WeightsGiveTheExpandedWeightsResult() throws {
        let fixture = try WanTransformerFixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let float8URL = folder.appending(path: "wan_fp8_e4m3fn_scaled.safetensors")
        XCTAssertEqual(try ScaledFloat8File.write(fixture.store, to: float8URL, others: .f16), 6 + 2 * 10)

        let float8 = try WeightFile.open(float8URL)
        XCTAssertEqual(try float8.info("blocks.0.attn1.to_q.weight").dtype, .f8E4M3)
        let expanded = try ScaledFloat8File.expansion(of: float8, to: folder.appending(path: "expanded.safetensors"))

        let fromFloat8 = try fixture.predict(
            WanTransformer3DModel(file: float8URL, device: device, configuration: fixture.configuration), self,
            timestep: fixture.timestep)
        let fromExpanded = try fixture.predict(
            fixture.model(self, store: expanded), self, timestep: fixture.timestep)
        let error = relativeL2(fromFloat8, fromExpanded)
        XCTAssertLessThanOrEqual(error, 1e-6, "float8 file against its f32 expansion: \(error)")
        let quantization = relativeL2(fromFloat8, try fixture.values("sample"))
        XCTAssertGreaterThan(quantization, 1e-3, "the float8 model is not simply the f32 one")
        XCTAssertLessThan(quantization, 0.1)
        print(
            "Wan transformer e4m3 weights: relative L2 \(error) against their f32 expansion, \(quantization) "
                + "against the fp32 reference")
    }

    /// The feed-forward in chunks of 7 tokens (45 tokens: 7 chunks, the last of 3) gives the unchunked values.
    func testFeedForwardChunksChangeNoValue() throws {
        let fixture = try WanTransformerFixture(test: self)
        let whole = try fixture.model(self)
        let chunked = try fixture.model(self, feedForwardChunkBytes: 7 * 32 * 4 + 3)
        let block = chunked.block(0)
        XCTAssertEqual(
            WanTransformerFeedForward(
                configuration: fixture.configuration, weights: block.weights.scoped("ffn"),
                chunkBytes: block.feedForwardChunkBytes
            ).rowsPerChunk, 7)
        for timestep in [try fixture.timestep, .perToken(try fixture.rows("ragged_timestep"))] {
            let expected = try fixture.predict(whole, self, timestep: timestep)
            XCTAssertEqual(try fixture.predict(chunked, self, timestep: timestep), expected)
        }
    }

    func testWanTransformerRejectsBadInput() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try fixture.model(self)
        func assertRejects(
            latent: [Int] = [1, 4, 3, 6, 10], text: [Int] = [1, 7, 16], timestep: WanTimesteps? = nil,
            _ expected: WanTransformerError, line: UInt = #line
        ) {
            let graph = makeGraph()
            XCTAssertThrowsError(
                try model(
                    graph, hiddenStates: graph.input([Float](repeating: 0, count: latent.reduce(1, *)), shape: latent),
                    timestep: timestep ?? .perSample([Float](repeating: 500, count: latent[0])),
                    encoderHiddenStates: graph.input([Float](repeating: 0, count: text.reduce(1, *)), shape: text)),
                line: line
            ) { error in
                XCTAssertEqual(error as? WanTransformerError, expected, line: line)
                XCTAssertTrue("\(error)".hasPrefix("Wan transformer: "), "\(error)", line: line)
            }
        }
        assertRejects(
            latent: [1, 4, 3, 7, 10],
            .invalidLatent(
                shape: [1, 4, 3, 7, 10], reason: "height 7 is not divisible by the patch size 2 (patch_size [1, 2, 2])")
        )
        assertRejects(
            latent: [1, 4, 3, 6, 9],
            .invalidLatent(
                shape: [1, 4, 3, 6, 9], reason: "width 9 is not divisible by the patch size 2 (patch_size [1, 2, 2])"))
        assertRejects(
            latent: [1, 16, 3, 6, 10],
            .invalidLatent(
                shape: [1, 16, 3, 6, 10],
                reason: "16 channels, but this transformer takes 4 (16 for the Wan 2.1 VAE's latents, 48 for the Wan "
                    + "2.2 VAE's)"))
        assertRejects(
            latent: [1, 4, 6, 10],
            .invalidLatent(shape: [1, 4, 6, 10], reason: "expected [batch, channels, frames, height, width]"))
        assertRejects(
            latent: [1, 4, 3, 6, 66],
            .invalidLatent(
                shape: [1, 4, 3, 6, 66],
                reason: "3 × 3 × 33 patches: the rotary table covers at most 32 along each axis (rope_max_seq_len)"))
        assertRejects(
            text: [1, 7, 32],
            .invalidText(
                shape: [1, 7, 32],
                reason: "expected [1, L_text, 16]: one prompt per latent sample, text_dim 16 wide (UMT5-XXL's hidden "
                    + "states)"))
        assertRejects(
            text: [2, 7, 16],
            .invalidText(
                shape: [2, 7, 16],
                reason: "expected [1, L_text, 16]: one prompt per latent sample, text_dim 16 wide (UMT5-XXL's hidden "
                    + "states)"))
        assertRejects(
            timestep: .perSample([1, 2]),
            .invalidTimesteps(reason: "2 timesteps for a batch of 1; give one per sample"))
        assertRejects(
            timestep: .perToken([[Float](repeating: 1, count: 44)]),
            .invalidTimesteps(
                reason: "row 0 has 44 per-token timesteps, but the latent has 45 tokens (3 frames × 15 patches)"))
        assertRejects(timestep: .perSample([.nan]), .invalidTimesteps(reason: "timestep 0 is nan"))
    }
}
