import Foundation
import KinoraGPU
@testable import KinoraModels
import KinoraTensor
import XCTest

/// The UNet with weights streamed block by block (`UNet2DConditionModel.streamedPrediction`) on the tiny SD 1.x and
/// SDXL fixtures: the same prediction as the resident pass bit for bit (and so diffusers'), only the head and tail
/// left on the device, a planned peak the run never exceeds, and a pass that fits a budget the resident one does
/// not.
final class UNetStreamingTests: ModelTestCase {
    struct Case {
        var inputs: UNetStreamedInputs
        var expected: [Float]
        var resident: [Float]
    }

    /// Case `name` of `model`'s fixture as streamed inputs (a batch's conditioning given per sample, so the pass
    /// joins it), with diffusers' output and the resident pass's.
    func makeCase(_ model: String, _ name: String, unet: UNet2DConditionModel) throws -> Case {
        let cases = try fixture("unet/\(model)/cases.safetensors")
        func tensor(_ key: String) throws -> Tensor {
            try Tensor(cases.floats("\(name).\(key)"), shape: cases.info("\(name).\(key)").shape, on: device)
        }
        func rows(_ key: String) throws -> [Tensor] {
            let whole = try tensor(key)
            let batch = whole.shape[0]
            let values = try whole.floats()
            let row = values.count / batch
            return try (0..<batch).map { index in
                try Tensor(Array(values[index * row..<(index + 1) * row]), shape: [1] + whole.shape.dropFirst(),
                           on: device)
            }
        }
        let hasAdded = cases.tensorNames.contains("\(name).text_embeds")
        let inputs = UNetStreamedInputs(
            sample: try tensor("sample"), timestep: try cases.floats("\(name).timestep")[0],
            encoderHiddenStates: try rows("encoder_hidden_states"), textEmbeds: hasAdded ? try rows("text_embeds") : [],
            timeIds: hasAdded ? try cases.floats("\(name).time_ids") : [])

        let graph = makeGraph()
        let added = hasAdded ? UNetAddedConditions(textEmbeds: graph.input(try tensor("text_embeds")),
                                                   timeIds: inputs.timeIds) : nil
        let output = try unet(graph, sample: graph.input(inputs.sample), timestep: inputs.timestep,
                              encoderHiddenStates: graph.input(try tensor("encoder_hidden_states")),
                              addedConditions: added)
        return Case(inputs: inputs, expected: try cases.floats("\(name).output"),
                    resident: try graph.run([output])[0].floats())
    }

    func testStreamedPredictionIsTheResidentPassBitForBit() throws {
        for model in ["sd", "sdxl"] {
            for name in ["batch2", "odd"] {
                let resident = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
                let example = try makeCase(model, name, unet: resident)
                let streamedModel = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
                let streamed = try streamedModel.streamedPrediction(example.inputs, arena: arena).floats()
                XCTAssertEqual(streamed, example.resident, "\(model) \(name)")
                assertClose(streamed, example.expected, tolerance: UNet2DConditionModelTests.fp32Tolerance,
                            "\(model) \(name) against diffusers")
                print("UNet \(model) \(name) streamed: relative L2 against diffusers "
                    + "\(relativeL2(streamed, example.expected))")
            }
        }
    }

    func testStreamingKeepsOnlyTheHeadAndTailOnTheDevice() throws {
        for model in ["sd", "sdxl"] {
            let unet = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
            let example = try makeCase(model, "batch2", unet: unet)
            XCTAssertEqual(unet.weights.uploadedBytes, unet.weightBytes, "\(model): the resident pass loads all")
            let streamed = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
            _ = try streamed.streamedPrediction(example.inputs, arena: arena)
            XCTAssertEqual(streamed.weights.uploadedBytes, streamed.streamedResidentBytes, model)
            XCTAssertLessThan(streamed.streamedResidentBytes + streamed.largestStreamedPieceBytes,
                              streamed.weightBytes / 4, model)
            print("UNet \(model) streaming: \(streamed.weightBytes) weight bytes, \(streamed.streamedResidentBytes) "
                + "resident, largest piece \(streamed.largestStreamedPieceBytes)")
        }
    }

    /// The planned peak is what the run allocates at its highest; a budget between the streamed and the resident
    /// needs is too small for the resident pass (the allocator refuses it) and enough for the streamed one.
    func testStreamedPassFitsABudgetTheResidentPassDoesNot() throws {
        let memory = device.memory
        let budget = memory.budget
        defer { memory.budget = budget }
        for model in ["sd", "sdxl"] {
            let unet = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
            let example = try makeCase(model, "batch2", unet: unet)
            let residentOutput = example.resident
            let residentPeak = try residentNeed(model, example)

            // Planned and run on fresh models, so both include uploading the head and tail.
            let planner = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
            arena.trim()
            memory.trim()
            let start = memory.liveBytes
            let planned = try planner.plannedStreamedPeak(example.inputs) - start
            planner.weights.evict(planner.weights.uploadedNames)
            let streamed = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
            arena.trim()
            memory.trim()
            memory.resetPeak()
            let base = memory.liveBytes
            let output = try streamed.streamedPrediction(example.inputs, arena: arena).floats()
            let measured = memory.peakBytes - base
            print("UNet \(model) batch 2: streamed peak planned \(planned), measured \(measured); "
                + "resident \(residentPeak)")
            XCTAssertLessThanOrEqual(measured, planned, model)
            XCTAssertLessThan(planned, residentPeak, model)
            XCTAssertEqual(output, residentOutput, model)

            // A budget with room for the streamed pass only.
            let fresh = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
            arena.trim()
            memory.trim()
            memory.budget = memory.liveBytes + planned
            XCTAssertThrowsError(try residentPass(fresh, example), "\(model): resident over the budget") { error in
                guard case GPUError.outOfMemory = error else { return XCTFail("\(model): \(error)") }
            }
            fresh.weights.evict(fresh.weights.uploadedNames)
            arena.trim()
            memory.trim()
            XCTAssertEqual(try fresh.streamedPrediction(example.inputs, arena: arena).floats(), residentOutput, model)
            memory.budget = budget
        }
    }

    /// The device bytes a resident pass needs above what is live: all weights plus its planned activations.
    private func residentNeed(_ model: String, _ example: Case) throws -> UInt64 {
        let unet = try UNet2DConditionModel(folder: fixtureURL("unet/\(model)"), device: device)
        let graph = makeGraph()
        let output = try record(unet, example, graph)
        return UInt64(unet.weights.uploadedBytes) + (try graph.memoryPlan([output]).peakBytes)
    }

    private func residentPass(_ unet: UNet2DConditionModel, _ example: Case) throws -> [Float] {
        let graph = makeGraph()
        return try graph.run([record(unet, example, graph)])[0].floats()
    }

    private func record(_ unet: UNet2DConditionModel, _ example: Case, _ graph: Graph) throws -> Value {
        let inputs = example.inputs
        let states = try graph.concat(inputs.encoderHiddenStates.map(graph.input), axis: 0)
        let added = inputs.textEmbeds.isEmpty ? nil : UNetAddedConditions(
            textEmbeds: try graph.concat(inputs.textEmbeds.map(graph.input), axis: 0), timeIds: inputs.timeIds)
        return try unet(graph, sample: graph.input(inputs.sample), timestep: inputs.timestep,
                        encoderHiddenStates: states, addedConditions: added)
    }
}
