import Foundation
import XCTest

@testable import KinoraPipeline

final class PlanTests: XCTestCase {
    private func stillsPlan() throws -> Plan {
        let graph = try TestSupport.builder().build(try TestSupport.stillsWorkflow(), mode: .final)
        return try Planner(device: DeviceProfile(budgetBytes: 6_000_000_000)).plan(graph)
    }

    func testRenderedPlanListsLoadsRunsAndEvictions() throws {
        let text = try stillsPlan().rendered()
        let lines = text.split(separator: "\n").map(String.init)
        let head = "Plan for \(TestSupport.stills.path) (final): budget 5.59 GiB, predicted peak "
        XCTAssertTrue(lines[0].hasPrefix(head), lines[0])
        XCTAssertEqual(lines[1], "   1  run    phonemize welcome/phonemize (host)")
        XCTAssertTrue(lines.contains { $0.hasSuffix("load   hero/text_encoder  219.51 KiB") }, text)
        let denoise = "run    denoise harbour/denoise, market/denoise, lighthouse/denoise on hero/denoiser "
            + "[batch 3, CFG batched]"
        XCTAssertTrue(lines.contains { $0.contains(denoise) }, text)
        XCTAssertTrue(lines.contains { $0.contains("evict  narrator/voice") }, text)
    }

    func testJSONRoundTrips() throws {
        let plan = try stillsPlan()
        let decoded = try JSONDecoder().decode(Plan.self, from: try plan.json())
        XCTAssertEqual(decoded, plan)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: try plan.json()) as? [String: Any])
        XCTAssertEqual((object["steps"] as? [Any])?.count, plan.steps.count)
    }

    func testDurationsAreReadable() {
        XCTAssertEqual(Plan.duration(0.42), "0.4 s")
        XCTAssertEqual(Plan.duration(42), "42 s")
        XCTAssertEqual(Plan.duration(185), "3 min 05 s")
    }
}
