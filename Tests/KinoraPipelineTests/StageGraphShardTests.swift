import XCTest

@testable import KinoraPipeline

final class StageGraphShardTests: XCTestCase {
    func testAShardsGraphHoldsItsUnitsStagesAndNoAssembly() throws {
        let graph = try TestSupport.builder().build(try TestSupport.stillsWorkflow(), mode: .final)
        let shard = graph.restricted(toOwners: ["shots[1]", "voices[0]"])
        XCTAssertEqual(shard.stages.map(\.id), ["market/encode-text", "market/denoise", "market/decode",
                                                "market/animate", "welcome/phonemize", "welcome/speak"])
        XCTAssertEqual(Set(shard.models.values.map(\.identity.name)),
                       ["hero/text_encoder", "hero/denoiser", "hero/decoder", "narrator/voice"],
                       "only the models its stages run")
        XCTAssertEqual(shard.file, graph.file)
        XCTAssertEqual(shard.mode, graph.mode)
        // The same stages under the same keys as in the whole render, so the assembly finds them.
        let keys = StageKeys.compute(graph)
        for (id, key) in StageKeys.compute(shard) {
            XCTAssertEqual(keys[id], key, id)
        }
        XCTAssertEqual(graph.restricted(toOwners: []).stages.map(\.id), [])
        let all = graph.restricted(toOwners: ShardPartition(graph: graph, count: 1).units.map(\.owner))
        XCTAssertFalse(all.stages.contains { ["video/encode", "audio/mix", "output/mux"].contains($0.id) })
        XCTAssertEqual(all.stages.count, graph.stages.count - 3)
    }

    func testAShardTakesTheInputsItNeedsWhoeverOwnsThem() throws {
        // Identical prompts share one text encoding, owned by both shots.
        let text = """
            output: {size: 64x64}
            models: {m: {catalog: tiny-sd15}}
            shots:
              - {id: a, prompt: same words, duration: 1, seed: 1, final: {model: m}}
              - {id: b, prompt: same words, duration: 1, seed: 2, final: {model: m}}
            """
        let graph = try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)
        XCTAssertEqual(graph.stage("a/encode-text")?.owners, ["shots[0]", "shots[1]"])
        let second = graph.restricted(toOwners: ["shots[1]"])
        XCTAssertEqual(second.stages.map(\.id), ["a/encode-text", "b/denoise", "b/decode", "b/animate"])
        let first = graph.restricted(toOwners: ["shots[0]"])
        XCTAssertEqual(first.stages.map(\.id), ["a/encode-text", "a/denoise", "a/decode", "a/animate"],
                       "both shards compute the shared stage (same key: the second store keeps the first entry)")
        // Every stage a shard runs has its inputs in the shard.
        for shard in [first, second] {
            let ids = Set(shard.stages.map(\.id))
            for stage in shard.stages { XCTAssertTrue(stage.inputs.allSatisfy(ids.contains), stage.id) }
        }
    }

    func testInputsOwnedOnlyByOthersAreTakenTransitively() {
        let graph = StageGraph(file: "w.yaml", mode: .final, stages: [
            Stage(id: "a/load", kind: .loadAudio, owners: ["music[0]"]),
            Stage(id: "b/phonemize", kind: .phonemize, inputs: ["a/load"], owners: ["voices[0]"]),
            Stage(id: "c/speak", kind: .speak, inputs: ["b/phonemize"], owners: ["voices[1]"]),
            Stage(id: "d/mix", kind: .mix, inputs: ["c/speak"], owners: ["mix"]),
        ], models: [:])
        XCTAssertEqual(graph.restricted(toOwners: ["voices[1]"]).stages.map(\.id),
                       ["a/load", "b/phonemize", "c/speak"])
        XCTAssertEqual(graph.restricted(toOwners: ["music[0]"]).stages.map(\.id), ["a/load"])
    }

    func testTheDemosShardsCloseOverTheirInputsAndLeaveTheOutputsWork() throws {
        let workflow = try Workflow.load(contentsOf: TestSupport.demo)
        let graph = try TestSupport.builder().build(workflow, mode: .final)
        let partition = ShardPartition(graph: graph, count: 3)
        var union: Set<String> = []
        for index in 1...3 {
            let shard = graph.restricted(toOwners: partition.owners(of: try ShardIndex(index: index, count: 3)))
            let ids = Set(shard.stages.map(\.id))
            for stage in shard.stages {
                XCTAssertTrue(stage.inputs.allSatisfy(ids.contains), stage.id)
                XCTAssertFalse(stage.owners.allSatisfy(ShardPartition.assemblyOwners.contains), stage.id)
            }
            XCTAssertNoThrow(try Planner(device: DeviceProfile(budgetBytes: 8 << 30)).plan(shard))
            union.formUnion(ids)
        }
        let assembly = graph.stages.filter { !union.contains($0.id) }
        XCTAssertTrue(assembly.allSatisfy { $0.owners.allSatisfy(ShardPartition.assemblyOwners.contains) },
                      "\(assembly.map(\.id))")
        XCTAssertTrue(assembly.contains { $0.kind == .mux })
        XCTAssertTrue(assembly.contains { $0.kind == .mix })
    }
}
