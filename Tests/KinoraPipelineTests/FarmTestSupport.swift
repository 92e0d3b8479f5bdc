import Foundation
import XCTest

@testable import KinoraPipeline

/// What the farm tests share: a prepared farm folder, records, and the `FarmError` a call throws.
extension XCTestCase {
    /// A cache folder, a workflow file in it and the farm `w-final` prepared for `shards` shards of it.
    func preparedFarm(shards: Int = 2) throws -> (folder: FarmFolder, workflow: URL, version: FarmVersion) {
        let root = try TestSupport.temporaryFolder(self)
        let workflow = root.appendingPathComponent("w.yaml")
        try Data("version: 1\n".utf8).write(to: workflow)
        let folder = try FarmFolder(cacheRoot: root.appendingPathComponent("cache"), name: "w-final")
        let hash = try FarmVersion.workflowHash(of: workflow, mode: .final)
        try folder.prepare(FarmMarker(farm: folder.name, workflow: workflow.path, mode: .final, workflowHash: hash,
                                      shards: shards, host: "here", prepared: Date()))
        return (folder, workflow, FarmVersion(workflowHash: hash, workHash: "work-1"))
    }

    /// A record of `shard` (the assembly's when nil) of farm `w-final` in `state`, by this process.
    func farmRecord(_ shard: ShardIndex?, _ version: FarmVersion, state: FarmRecord.State = .done)
        -> FarmRecord {
        var record = FarmRecord(farm: "w-final", shard: shard, workflow: "/w.yaml", mode: .final, version: version,
                                owners: ["shots[0]"], stagesTotal: 4)
        record.state = state
        return record
    }

    /// The `FarmError` `body` throws; fails the test when it throws nothing or something else.
    func farmError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line)
        -> FarmError? {
        do {
            try body()
            XCTFail("expected a refusal", file: file, line: line)
        } catch let error as FarmError {
            return error
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return nil
    }
}
