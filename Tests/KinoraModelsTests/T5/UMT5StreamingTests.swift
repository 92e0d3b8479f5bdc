import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The encoder run layer by layer with streamed weights (`UMT5EncoderModel.streamedLastHiddenState`): the resident
/// pass's output bit for bit, no weights left on the device, a planned peak the run never exceeds, and the memory
/// UMT5-XXL needs at Wan's 512 tokens.
final class UMT5StreamingTests: ModelTestCase {
    func testStreamedPassIsTheResidentPassBitForBit() throws {
        let fixture = try UMT5Fixture(test: self)
        let resident = try fixture.model(self)
        let graph = makeGraph()
        let expected = try graph.run([
            resident(
                graph, inputIDs: fixture.inputIDs,
                attentionMask: fixture.attentionMask)
        ])[0].floats()
        XCTAssertEqual(
            resident.weights.uploadedBytes, resident.weightBytes - 320 * 32 * 4,
            "the resident pass uploads every weight but the embedding table")

        let streamed = try fixture.model(self)
        let output = try streamed.streamedLastHiddenState(
            inputIDs: fixture.inputIDs,
            attentionMask: fixture.attentionMask, arena: arena)
        XCTAssertEqual(output.shape, [2, 40, 32])
        XCTAssertEqual(try output.floats(), expected)
        XCTAssertEqual(streamed.weights.uploadedBytes, 0, "streaming leaves no weights on the device")
        assertClose(
            try output.floats(), try fixture.values("last_hidden_state"),
            tolerance: UMT5EncoderModelTests.fp32Tolerance, "streamed against transformers")
    }

    /// The planned peak is what the run allocates at its highest, and for a short prompt, where the weights count
    /// most, below what the resident pass holds (at 40 tokens the tiny model's activations and the allocator's
    /// rounding dominate, and the two are close).
    func testStreamedPeakIsPlannedAndBelowTheResidentNeed() throws {
        let fixture = try UMT5Fixture(test: self)
        let memory = device.memory
        let short = [Array(fixture.inputIDs[1].prefix(8))]
        for (ids, mask) in [(fixture.inputIDs, Optional(fixture.attentionMask)), (short, nil)] {
            let (batch, length) = (ids.count, ids[0].count)
            let planner = try fixture.model(self)
            arena.trim()
            memory.trim()
            let start = memory.liveBytes
            let planned = try planner.plannedStreamedPeak(batch: batch, length: length, padded: mask != nil) - start
            XCTAssertEqual(planner.weights.uploadedBytes, 0)

            let streamed = try fixture.model(self)
            arena.trim()
            memory.trim()
            memory.resetPeak()
            let base = memory.liveBytes
            _ = try streamed.streamedLastHiddenState(inputIDs: ids, attentionMask: mask, arena: arena)
            let measured = memory.peakBytes - base

            let resident = try fixture.model(self)
            let graph = makeGraph()
            let output = try resident(graph, inputIDs: ids, attentionMask: mask)
            let residentNeed = UInt64(resident.weights.uploadedBytes) + (try graph.memoryPlan([output]).peakBytes)
            print(
                "UMT5 tiny, batch \(batch) × \(length) tokens: streamed peak planned \(planned), measured "
                    + "\(measured); resident \(residentNeed) (largest layer \(streamed.largestStreamedLayerBytes) weight "
                    + "bytes)")
            XCTAssertGreaterThan(measured, 0)
            XCTAssertLessThanOrEqual(measured, planned)
            if length == 8 { XCTAssertLessThan(planned, residentNeed) }
        }
    }

    /// UMT5-XXL at 512 tokens over random weights, planned and never run: one layer stands for all 24 (every layer
    /// piece has the same shapes, so the streamed peak is the same), which keeps the random weights to one layer's.
    func testUMT5XXLStreamedMemoryAt512Tokens() throws {
        var oneLayer = UMT5Config.umt5XXL
        oneLayer.numLayers = 1
        let shapes = Dictionary(
            uniqueKeysWithValues: UMT5EncoderModel.parameterShapes(oneLayer).map {
                ($0.name, $0.shape)
            })
        let store = RandomWeightStore(shapes: shapes, sourceName: "umt5-xxl (random)")
        let model = try UMT5EncoderModel(configuration: oneLayer, weights: DeviceWeights(store: store, device: device))
        let layerBytes = model.largestStreamedLayerBytes
        XCTAssertEqual(layerBytes, 192_948_224 * 2)

        let memory = device.memory
        var lines: [String] = []
        for (batch, padded) in [(1, false), (2, true)] {
            arena.trim()
            memory.trim()
            let start = memory.liveBytes
            let peak = try model.plannedStreamedPeak(batch: batch, length: 512, padded: padded) - start

            // One layer's activations alone, as Graph.memoryPlan sees the resident pass's layer.
            let graph = makeGraph()
            let selector = try model.positionBias.selector(length: 512, on: graph)
            let padding =
                padded
                ? try graph.input([Float](repeating: 0, count: batch * 512), shape: [batch, 1, 1, 512])
                : nil
            let hidden = try graph.input([Float](repeating: 0, count: batch * 512 * 4096), shape: [batch, 512, 4096])
            let layer = try model.block(0)(graph, hidden, selector: selector, padding: padding)
            let plan = try graph.memoryPlan([layer])
            model.weights.evict(model.weights.uploadedNames)

            XCTAssertLessThan(peak, UInt64(layerBytes) + 1_200_000_000, "batch \(batch)")
            XCTAssertGreaterThan(peak, UInt64(layerBytes) + plan.activationBytes)
            lines.append(
                "batch \(batch)\(padded ? " padded" : ""): streamed peak \(peak) bytes = one layer's "
                    + "weights \(layerBytes) + inputs and activations; one layer's activation plan "
                    + "\(plan.activationBytes) + output \(plan.outputBytes) in \(plan.slots) slots")
        }
        print("UMT5-XXL, 512 tokens: " + lines.joined(separator: "; "))
    }
}
