import XCTest

@testable import KinoraPipeline

final class ShardPartitionTests: XCTestCase {
    /// SD 1.5 shots at 512x512 with `steps` sampler steps each (the denoise dominates their estimates), a voice line
    /// and a music file.
    private func workflow(steps: [Int]) -> String {
        let shots = steps.enumerated().map { index, steps in
            "  - {id: s\(index), prompt: shot number \(index), seed: \(index), duration: 1, "
                + "final: {model: hero, steps: \(steps), cfg: 1}}"
        }
        return """
            output: {size: 512x512}
            models:
              hero: {catalog: sd15}
              narrator: {catalog: piper-vits}
            shots:
            \(shots.joined(separator: "\n"))
            voices:
              - {id: hello, text: Hello there., voice: narrator, start: 0.2}
            music:
              - {id: pad, file: pad.ogg}
            """
    }

    private func graph(_ text: String) throws -> StageGraph {
        try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)
    }

    func testUnitsAreTheShotsVoiceLinesAndCuesInWorkflowOrderWithoutTheAssembly() throws {
        let partition = ShardPartition(graph: try graph(workflow(steps: [4, 4])), count: 2)
        XCTAssertEqual(partition.units.map(\.owner), ["shots[0]", "shots[1]", "voices[0]", "music[0]"])
        let shared = Set(partition.shares.flatMap { $0 })
        XCTAssertEqual(shared.count, partition.units.count, "every unit in exactly one share")
        XCTAssertEqual(partition.shares.flatMap { $0 }.count, partition.units.count)
        XCTAssertTrue(partition.units.allSatisfy { $0.estimatedSeconds > 0 || $0.owner == "music[0]" },
                      "\(partition.units)")
    }

    func testLongestUnitsGoFirstOntoTheLeastLoadedShard() throws {
        // Denoise time grows with the steps: 8 → shard 1, 7 → 2, 6 → 2 (7 < 8), 5 → 1, 4 → 1 (13 = 13: the lower).
        let partition = ShardPartition(graph: try graph(workflow(steps: [5, 8, 4, 7, 6])), count: 2)
        let shots = partition.shares.map { $0.filter { $0.hasPrefix("shots") } }
        XCTAssertEqual(shots, [["shots[0]", "shots[1]", "shots[2]"], ["shots[3]", "shots[4]"]])
        XCTAssertEqual(partition.owners(of: try ShardIndex(index: 2, count: 2)), partition.shares[1])
    }

    func testTwelveShotsSpreadWithinTheLongestUnitOfEachOther() throws {
        let steps = [3, 9, 1, 12, 5, 7, 2, 11, 4, 8, 6, 10]
        for count in [2, 3, 4, 5] {
            let partition = ShardPartition(graph: try graph(workflow(steps: steps)), count: count)
            let loads = try (1...count).map { try partition.estimatedSeconds(of: ShardIndex(index: $0, count: count)) }
            let longest = try XCTUnwrap(partition.units.map(\.estimatedSeconds).max())
            let total = partition.units.reduce(0) { $0 + $1.estimatedSeconds }
            XCTAssertEqual(loads.reduce(0, +), total, accuracy: total * 1e-12)
            XCTAssertLessThanOrEqual(try XCTUnwrap(loads.max()) - (loads.min() ?? 0), longest * (1 + 1e-12),
                                     "\(count) shards: \(loads)")
            XCTAssertTrue(partition.shares.allSatisfy { !$0.isEmpty })
        }
    }

    func testEqualUnitsGoRoundTheShardsInWorkflowOrder() throws {
        let text = """
            output: {size: 64x64}
            models: {m: {catalog: tiny-sd15}}
            shots:
              - {id: a, prompt: one, seed: 1, duration: 1, final: {model: m}}
              - {id: b, prompt: two, seed: 2, duration: 1, final: {model: m}}
              - {id: c, prompt: six, seed: 3, duration: 1, final: {model: m}}
              - {id: d, prompt: ten, seed: 4, duration: 1, final: {model: m}}
            """
        let partition = ShardPartition(graph: try graph(text), count: 2)
        XCTAssertEqual(partition.shares, [["shots[0]", "shots[2]"], ["shots[1]", "shots[3]"]])
        // More shards than units: the last ones get no work.
        let wide = ShardPartition(graph: try graph(text), count: 6)
        XCTAssertEqual(wide.shares, [["shots[0]"], ["shots[1]"], ["shots[2]"], ["shots[3]"], [], []])
        XCTAssertEqual(wide.owners(of: try ShardIndex(index: 6, count: 6)), [])
    }

    func testTheSplitIsTheSameWhateverTheDeviceAndCalibrationThePlanUsed() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let text = """
            version: 1
            output: {file: out.mp4, size: 64x64, fps: 8}
            models: {m: {catalog: tiny-sd15}}
            shots:
              - {id: a, prompt: a red boat, seed: 1, duration: 1, final: {model: m, steps: 6}}
              - {id: b, prompt: a green hill, seed: 2, duration: 1, final: {model: m, steps: 2}}
              - {id: c, prompt: a blue sea, seed: 3, duration: 1, final: {model: m, steps: 4}}
              - {id: d, prompt: a grey sky, seed: 4, duration: 1, final: {model: m, steps: 3}}
            """
        let file = folder.appendingPathComponent("w.yaml")
        try Data(text.utf8).write(to: file)
        func prepare(_ device: DeviceProfile) throws -> RenderPreparation {
            try RenderPreparation.prepare(workflow: file, mode: .final, catalogFolder: TestSupport.catalogFolder,
                                          searchPaths: ModelSearchPaths(roots: [TestSupport.catalogFolder]),
                                          device: device)
        }
        let gpu = try prepare(DeviceProfile(budgetBytes: 8 << 30))
        var calibrated = DeviceProfile(budgetBytes: 1 << 30, flopsPerSecond: DeviceProfile.cpuDriverFlopsPerSecond)
        // Earlier renders found the denoise a thousand times slower and the decode a thousand times faster.
        calibrated.timeFactors = [TimeCalibration.key(family: "tiny-sd15", kind: .denoise): 1000,
                                  TimeCalibration.key(family: "tiny-sd15", kind: .decode): 0.001]
        let cpu = try prepare(calibrated)
        XCTAssertNotEqual(gpu.plan.estimatedSeconds, cpu.plan.estimatedSeconds, "the plans differ")
        for count in 1...4 {
            XCTAssertEqual(ShardPartition(graph: gpu.graph, count: count),
                           ShardPartition(graph: cpu.graph, count: count), "\(count) shards")
        }
        XCTAssertEqual(ShardPartition(graph: gpu.graph, count: 2).shares,
                       [["shots[0]", "shots[1]"], ["shots[2]", "shots[3]"]], "6 | 4, then 3 onto 4 and 2 onto 6")
    }
}
