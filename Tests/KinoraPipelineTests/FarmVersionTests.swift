import Foundation
import XCTest

@testable import KinoraPipeline

final class FarmVersionTests: XCTestCase {
    func testTheWorkflowHashChangesWithTheFileAndTheMode() throws {
        let (_, workflow, version) = try preparedFarm()
        XCTAssertEqual(try FarmVersion.workflowHash(of: workflow, mode: .final), version.workflowHash)
        XCTAssertNotEqual(try FarmVersion.workflowHash(of: workflow, mode: .draft), version.workflowHash)
        try Data("version: 1\n# edited\n".utf8).write(to: workflow)
        XCTAssertNotEqual(try FarmVersion.workflowHash(of: workflow, mode: .final), version.workflowHash)
        let missing = workflow.deletingLastPathComponent().appendingPathComponent("none.yaml")
        guard case .storage(let path, _)? = farmError({ _ = try FarmVersion.workflowHash(of: missing, mode: .final) })
        else { return XCTFail("no storage error") }
        XCTAssertEqual(path, missing.path)
    }

    func testTheWorkHashChangesWithTheShardsStagesButNotWithTheAssembly() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let workflow = folder.appendingPathComponent("w.yaml")
        try Data("version: 1\n".utf8).write(to: workflow)
        let graph = try TestSupport.builder().build(try TestSupport.stillsWorkflow(), mode: .final)
        let version = try FarmVersion(workflow: workflow, graph: graph)
        XCTAssertEqual(try FarmVersion(workflow: workflow, graph: graph.writing(to: "x.mkv")), version,
                       "another container for the output is the assembly's business")
        var edited = graph
        edited.stages[1].parameters["steps"] = .int(9)
        XCTAssertNotEqual(try FarmVersion(workflow: workflow, graph: edited).workHash, version.workHash)
        XCTAssertEqual(try FarmVersion(workflow: workflow, graph: edited).workflowHash, version.workflowHash)
    }
}
