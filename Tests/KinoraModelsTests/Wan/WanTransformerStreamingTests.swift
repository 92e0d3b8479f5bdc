import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The transformer run block by block with streamed weights (`WanTransformer3DModel.streamedPrediction`): the
/// resident pass's output bit for bit, only the embeddings and head left on the device, a planned peak the run never
/// exceeds, and the memory the full-size Wan 2.1 1.3B and Wan 2.2 5B need at their sizes (planned, never run).
final class WanTransformerStreamingTests: ModelTestCase {
    private func streamedInputs(_ fixture: WanTransformerFixture, latent: String, text: String, timestep: WanTimesteps)
        throws -> WanTransformerStreamedInputs
    {
        WanTransformerStreamedInputs(
            hiddenStates: try Tensor(fixture.values(latent), shape: fixture.shape(latent), on: device),
            timestep: timestep,
            encoderHiddenStates: try Tensor(fixture.values(text), shape: fixture.shape(text), on: device))
    }

    func testStreamedPassIsTheResidentPassBitForBit() throws {
        let fixture = try WanTransformerFixture(test: self)
        let cases: [(latent: String, text: String, timestep: WanTimesteps, expected: String)] = [
            ("hidden_states", "encoder_hidden_states", try fixture.timestep, "sample"),
            (
                "batch_hidden_states", "batch_encoder_hidden_states",
                .perToken(try fixture.rows("batch_per_token_timestep")), "batch_per_token_sample"
            ),
        ]
        for test in cases {
            let resident = try fixture.model(self)
            let expected = try fixture.predict(
                resident, self, latent: test.latent, text: test.text, timestep: test.timestep)
            XCTAssertEqual(resident.weights.uploadedBytes, resident.weightBytes, "the resident pass keeps every weight")

            let streamed = try fixture.model(self)
            let output = try streamed.streamedPrediction(
                streamedInputs(fixture, latent: test.latent, text: test.text, timestep: test.timestep), arena: arena)
            XCTAssertEqual(output.shape, [test.latent == "hidden_states" ? 1 : 2, 6, 3, 6, 10])
            XCTAssertEqual(try output.floats(), expected, test.expected)
            XCTAssertEqual(
                streamed.weights.uploadedBytes, streamed.streamedResidentBytes,
                "streaming leaves only the embeddings and head on the device")
            assertClose(
                try output.floats(), try fixture.values(test.expected),
                tolerance: WanTransformer3DModelTests.fp32Tolerance, "streamed against diffusers")
        }
    }

    func testStreamedPassRejectsBadInputBeforeAnyWork() throws {
        let fixture = try WanTransformerFixture(test: self)
        let model = try fixture.model(self)
        let timestep = try fixture.timestep
        XCTAssertThrowsError(
            try model.streamedPrediction(
                WanTransformerStreamedInputs(
                    hiddenStates: Tensor(
                        [Float](repeating: 0, count: 4 * 3 * 7 * 10), shape: [1, 4, 3, 7, 10], on: device),
                    timestep: timestep,
                    encoderHiddenStates: Tensor([Float](repeating: 0, count: 7 * 16), shape: [1, 7, 16], on: device)),
                arena: arena)
        ) { XCTAssertTrue("\($0)".contains("height 7 is not divisible by the patch size 2"), "\($0)") }
        XCTAssertEqual(model.weights.uploadedBytes, 0)
    }

    /// The planned peak bounds what the run allocates at its highest.
    func testStreamedPeakIsPlanned() throws {
        let fixture = try WanTransformerFixture(test: self)
        let memory = device.memory
        for perToken in [false, true] {
            let planner = try fixture.model(self)
            arena.trim()
            memory.trim()
            let start = memory.liveBytes
            let planned =
                try planner.plannedStreamedPeak(
                    latentShape: [2, 4, 3, 6, 10], textLength: 9, perTokenTimesteps: perToken) - start
            XCTAssertEqual(planner.weights.uploadedBytes, planner.streamedResidentBytes)

            let streamed = try fixture.model(self)
            let timestep: WanTimesteps =
                perToken
                ? .firstFrameClean(500, batch: 2, frames: 3, tokensPerFrame: 15) : .perSample([500, 500])
            let inputs = try streamedInputs(
                fixture, latent: "batch_hidden_states", text: "batch_encoder_hidden_states", timestep: timestep)
            arena.trim()
            memory.trim()
            memory.resetPeak()
            let base = memory.liveBytes
            _ = try streamed.streamedPrediction(inputs, arena: arena)
            let measured = memory.peakBytes - base
            print(
                "Wan tiny, batch 2 × 45 tokens, per-token \(perToken): streamed peak planned \(planned), measured "
                    + "\(measured) (largest block \(streamed.largestStreamedBlockBytes) weight bytes)")
            XCTAssertGreaterThan(measured, 0)
            XCTAssertLessThanOrEqual(measured, planned)
        }
    }

    /// Wan 2.1 T2V-1.3B at 832×480, 81 frames (latent 16 × 21 × 60 × 104: 32760 tokens) and Wan 2.2 TI2V-5B at
    /// 1280×704, 121 frames (latent 48 × 31 × 44 × 80: 27280 tokens), with 512 text rows, over random f16 weights,
    /// planned and never run. Two layers stand for all thirty (every block piece has the same shapes, so the
    /// streamed peak is the same), which keeps the random weights to two blocks'.
    func testFullSizeStreamedMemory() throws {
        let memory = device.memory
        var lines: [String] = []
        for (full, name, latent) in [
            (WanTransformer3DConfig.wan21T2V1_3B, "Wan 2.1 T2V-1.3B 832×480×81", [1, 16, 21, 60, 104]),
            (.wan22TI2V5B, "Wan 2.2 TI2V-5B 1280×704×121", [1, 48, 31, 44, 80]),
        ] {
            var twoLayers = full
            twoLayers.numLayers = 2
            let shapes = Dictionary(
                uniqueKeysWithValues: WanTransformer3DModel.parameterShapes(twoLayers).map { ($0.name, $0.shape) })
            let store = RandomWeightStore(shapes: shapes, sourceName: "\(name) (random)")
            let model = try WanTransformer3DModel(
                configuration: twoLayers, weights: DeviceWeights(store: store, device: device))
            let blockBytes = model.largestStreamedBlockBytes
            let residentBytes = model.streamedResidentBytes
            let fullWeightBytes = residentBytes + 30 * blockBytes
            let grid = try WanPatchGrid(latent: latent, configuration: full)

            var figures: [String] = []
            for perToken in [false, true] {
                arena.trim()
                memory.trim()
                let start = memory.liveBytes
                let peak =
                    try model.plannedStreamedPeak(
                        latentShape: latent, textLength: 512, perTokenTimesteps: perToken) - start
                model.weights.evict(model.weights.uploadedNames)
                figures.append("streamed peak \(perToken ? "(per-token t) " : "")\(peak) bytes")
                XCTAssertLessThan(peak, full.inChannels == 16 ? 8_000_000_000 : 16_000_000_000, name)
            }

            // One block's activations as Graph.memoryPlan sees them, over placeholders for its inputs.
            let graph = makeGraph()
            let (width, half) = (full.innerDim, full.attentionHeadDim / 2)
            let conditioning = WanBlockConditioning(
                context: try graph.placeholder(shape: [1, 512, width]),
                projection: try graph.placeholder(shape: [6, 1, width]),
                rotary: .init(
                    cos: try graph.placeholder(shape: [grid.tokens, half]),
                    sin: try graph.placeholder(shape: [grid.tokens, half])))
            let block = try model.block(0)(graph, graph.placeholder(shape: [1, grid.tokens, width]), conditioning)
            let plan = try graph.memoryPlan([block])
            model.weights.evict(model.weights.uploadedNames)
            XCTAssertLessThan(plan.activationBytes, 3_000_000_000, name)

            lines.append(
                "\(name): \(grid.tokens) tokens; " + figures.joined(separator: ", ") + "; weights \(fullWeightBytes) "
                    + "bytes in f16 (block \(blockBytes), resident \(residentBytes)); one block's activation plan "
                    + "\(plan.activationBytes) + output \(plan.outputBytes) in \(plan.slots) slots")
        }
        print("Wan transformer full size: " + lines.joined(separator: "\n    "))
    }
}
