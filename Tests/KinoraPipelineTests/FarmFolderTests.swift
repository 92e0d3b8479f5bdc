import Foundation
import XCTest

@testable import KinoraPipeline

final class FarmFolderTests: XCTestCase {
    func testFarmNamesAreOnePlainFileName() throws {
        let root = URL(fileURLWithPath: "/cache")
        XCTAssertEqual(try FarmFolder(cacheRoot: root, name: "demo-final").url.path, "/cache/farm/demo-final")
        for name in ["", "../x", "a/b", ".hidden", "sp ace", "é"] {
            XCTAssertEqual(farmError { _ = try FarmFolder(cacheRoot: root, name: name) }, .invalidName(name))
        }
        XCTAssertEqual(FarmFolder.defaultName(workflow: URL(fileURLWithPath: "/a/My film.yaml"), mode: .draft),
                       "My_film-draft")
        XCTAssertEqual(FarmFolder.defaultName(workflow: URL(fileURLWithPath: "/a/.yaml"), mode: .final),
                       "yaml-final")
        XCTAssertEqual(FarmFolder.defaultName(workflow: URL(fileURLWithPath: "/a/..."), mode: .final),
                       "workflow-final")
    }

    func testAShardNeedsTheMarkerOfItsCountAndWorkflow() throws {
        let (folder, workflow, version) = try preparedFarm()
        XCTAssertNoThrow(try folder.admit(try ShardIndex(index: 1, count: 2), version: version, workflow: workflow))

        let elsewhere = try FarmFolder(cacheRoot: try TestSupport.temporaryFolder(self), name: "w-final")
        let missing = farmError { try elsewhere.admit(ShardIndex(index: 1, count: 2), version: version,
                                                      workflow: workflow) }
        XCTAssertEqual(missing, .notPrepared(farm: "w-final", marker: elsewhere.markerURL.path))
        XCTAssertTrue(missing?.description.contains("shared") == true)

        XCTAssertEqual(farmError { try folder.admit(ShardIndex(index: 1, count: 3), version: version,
                                                    workflow: workflow) },
                       .shardCount(farm: "w-final", prepared: 2, shard: try ShardIndex(index: 1, count: 3)))

        let edited = FarmVersion(workflowHash: "other", workHash: version.workHash)
        guard case .workflowChanged(_, let path, let before, let now)? = farmError({
            try folder.admit(ShardIndex(index: 1, count: 2), version: edited, workflow: workflow)
        }) else { return XCTFail("no workflowChanged") }
        XCTAssertEqual(path, workflow.path)
        XCTAssertEqual(before, version.workflowHash)
        XCTAssertEqual(now, "other")
    }

    func testAShardRefusesWhenAnotherShardRanAnotherVersion() throws {
        let (folder, workflow, version) = try preparedFarm(shards: 3)
        let first = try ShardIndex(index: 1, count: 3)
        try folder.write(farmRecord(try ShardIndex(index: 2, count: 3), version))
        XCTAssertNoThrow(try folder.admit(first, version: version, workflow: workflow))
        // Its own earlier record (a run before it was killed) is no obstacle.
        try folder.write(farmRecord(first, FarmVersion(workflowHash: version.workflowHash, workHash: "old")))
        XCTAssertNoThrow(try folder.admit(first, version: version, workflow: workflow))

        var models = farmRecord(try ShardIndex(index: 3, count: 3),
                            FarmVersion(workflowHash: version.workflowHash, workHash: "work-2"))
        models.host = "node7"
        try folder.write(models)
        let error = farmError { try folder.admit(first, version: version, workflow: workflow) }
        XCTAssertEqual(error, .otherVersion(farm: "w-final", part: "shard 3/3", host: "node7", what: .work))
        XCTAssertTrue(error?.description.contains("models' files differ") == true)

        try folder.write(farmRecord(try ShardIndex(index: 3, count: 3),
                                FarmVersion(workflowHash: "older", workHash: version.workHash)))
        guard case .otherVersion(_, _, _, .workflow)? = farmError({
            try folder.admit(first, version: version, workflow: workflow)
        }) else { return XCTFail("no workflow mismatch") }
    }

    func testTheAssemblyWaitsForEveryShardDoneAndNamesThoseThatAreNot() throws {
        let (folder, workflow, version) = try preparedFarm(shards: 3)
        try folder.write(farmRecord(try ShardIndex(index: 1, count: 3), version))
        var failed = farmRecord(try ShardIndex(index: 2, count: 3), version, state: .failed)
        failed.error = "stage 'b/denoise' failed: out of memory"
        try folder.write(failed)
        guard case .notReady(let farm, let problems)? = farmError({
            try folder.admitAssembly(version: version, workflow: workflow)
        }) else { return XCTFail("no notReady") }
        XCTAssertEqual(farm, "w-final")
        guard problems.count == 2 else { return XCTFail("\(problems)") }
        XCTAssertTrue(problems[0].contains("shard 2/3 failed") && problems[0].contains("out of memory"), problems[0])
        XCTAssertTrue(problems[1].contains("shard 3/3 has no record"), problems[1])

        // A running record of a process that is gone (this machine, an id no process has) is a stopped shard.
        var stopped = farmRecord(try ShardIndex(index: 2, count: 3), version, state: .running)
        stopped.pid = Int32.max - 1
        stopped.processStart = 1
        try folder.write(stopped)
        var running = farmRecord(try ShardIndex(index: 3, count: 3), version, state: .running)
        running.host = "node9"
        try folder.write(running)
        guard case .notReady(_, let later)? = farmError({
            try folder.admitAssembly(version: version, workflow: workflow)
        }), later.count == 2 else { return XCTFail("no notReady of two") }
        XCTAssertTrue(later[0].contains("shard 2/3 stopped"), later[0])
        XCTAssertTrue(later[1].contains("shard 3/3 is still running on node9"), later[1])

        try folder.write(farmRecord(try ShardIndex(index: 2, count: 3), version))
        try folder.write(farmRecord(try ShardIndex(index: 3, count: 3), version))
        XCTAssertNoThrow(try folder.admitAssembly(version: version, workflow: workflow))
        let other = FarmVersion(workflowHash: version.workflowHash, workHash: "work-9")
        XCTAssertEqual(farmError { try folder.admitAssembly(version: other, workflow: workflow) },
                       .otherVersion(farm: "w-final", part: "shard 1/3", host: FarmRecord.currentHost, what: .work))
    }

    func testPreparingAgainClearsTheEarlierRunsRecordsAndKeepsTheRest() throws {
        let (folder, workflow, version) = try preparedFarm()
        try folder.write(farmRecord(try ShardIndex(index: 1, count: 2), version))
        try folder.write(farmRecord(nil, version))
        try Data("log".utf8).write(to: folder.url.appendingPathComponent("shard-1-of-2.report.json"))
        try Data("#!/bin/bash\n".utf8).write(to: folder.url.appendingPathComponent("shards.sbatch"))
        let marker = FarmMarker(farm: folder.name, workflow: workflow.path, mode: .final,
                                workflowHash: version.workflowHash, shards: 4, host: "here", prepared: Date())
        try folder.prepare(marker)
        XCTAssertEqual(try folder.marker()?.shards, 4)
        XCTAssertNil(try folder.record(for: try ShardIndex(index: 1, count: 2)))
        XCTAssertNil(try folder.record(for: nil))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted(),
                       ["farm.json", "shards.sbatch"])
    }

    func testARecordThatIsNotOneIsReportedWithItsPath() throws {
        let (folder, _, _) = try preparedFarm()
        let shard = try ShardIndex(index: 1, count: 2)
        try Data("{not json".utf8).write(to: folder.recordURL(for: shard))
        guard case .storage(let path, _)? = farmError({ _ = try folder.record(for: shard) }) else {
            return XCTFail("no storage error")
        }
        XCTAssertEqual(path, folder.recordURL(for: shard).path)
    }
}
