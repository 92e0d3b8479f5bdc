import XCTest

@testable import KinoraPipeline

/// The mux stage writes the container of the file the render delivers: the workflow's `output.file`, or the
/// `kinora render -o` override, so `-o out.mkv` is Matroska and not an MP4 under a .mkv name.
final class StageGraphOutputContainerTests: XCTestCase {
    private func mux(_ graph: StageGraph) throws -> Stage {
        try XCTUnwrap(graph.stages.first { $0.kind == .mux })
    }

    func testMuxWritesTheWorkflowsOutputContainer() throws {
        let graph = try TestSupport.builder().build(try TestSupport.stillsWorkflow(), mode: .final)
        XCTAssertEqual(try mux(graph).parameters.string("container"), "mp4")
    }

    func testAnOverrideChangesTheMuxContainerAndItsCacheParameters() throws {
        let graph = try TestSupport.builder().build(try TestSupport.stillsWorkflow(), mode: .final)
        let overridden = graph.writing(to: "/tmp/renders/Out.MKV")
        XCTAssertEqual(try mux(overridden).parameters.string("container"), "mkv")
        XCTAssertNotEqual(try mux(overridden).parameters.canonical, try mux(graph).parameters.canonical,
                          "a cached MP4 mux must not be delivered as the .mkv")
        let others = { (graph: StageGraph) in graph.stages.filter { $0.kind != .mux }.map(\.parameters) }
        XCTAssertEqual(others(overridden), others(graph), "only the mux changes")
        XCTAssertEqual(try mux(graph.writing(to: "/tmp/renders/plain")).parameters.string("container"), "mp4")
    }
}
