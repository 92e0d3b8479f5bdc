import Foundation
import KinoraTestSupport
import XCTest

/// Runs the built `kinora-gpu-check` binary as `scripts/gpu-check.sh` does on a lent GPU machine.
final class GPUCheckCommandTests: XCTestCase {
    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> KinoraCommand.Outcome {
        try KinoraCommand.run(arguments, environment: environment, program: "kinora-gpu-check")
    }

    func testDevicesListsTheSelectedDeviceWithItsTierAndLimits() throws {
        let outcome = try run(["devices"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.output.contains("(selected)"), outcome.output)
        XCTAssertTrue(outcome.output.contains("kernel tier"), outcome.output)
        XCTAssertTrue(outcome.output.contains("max workgroups"), outcome.output)
    }

    func testConformancePassesOnTheTestDeviceWithValidationAndSaysSo() throws {
        let outcome = try run(["conformance", "--validation", "--seed", "7", "--filter", "softmax"])
        XCTAssertEqual(outcome.status, 0, outcome.output + outcome.error)
        XCTAssertTrue(outcome.output.contains("seed 7, validation on"), outcome.output)
        let rows = outcome.output.split(separator: "\n").filter { $0.hasPrefix("PASS") }
        // Two softmax cases, each with a workgroup and an invocation per row, and f32, f16 and bf16 activations.
        XCTAssertEqual(rows.count, 12, outcome.output)
        XCTAssertEqual(rows.filter { $0.contains(" per-invocation ") }.count, 6, outcome.output)
        XCTAssertEqual(rows.filter { $0.contains(" [f16] ") }.count, 4, outcome.output)
        XCTAssertEqual(rows.filter { $0.contains(" [bf16] ") }.count, 4, outcome.output)
        XCTAssertTrue(outcome.output.hasSuffix("conformance: 12 passed, 0 failed, 0 skipped\n"), outcome.output)
    }

    func testConformanceJSONCarriesEachCaseWithItsErrorAndTolerance() throws {
        let outcome = try run(["conformance", "--filter", "cast", "--json"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        let results = try XCTUnwrap(report["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        XCTAssertEqual(results.map { $0["status"] as? String }, ["pass", "pass"])
        XCTAssertNotNil(results[0]["relative_error"] as? Double)
        XCTAssertNotNil(results[0]["tolerance"] as? Double)
    }

    func testAFilterMatchingNoCaseIsAnError() throws {
        for command in ["conformance", "bench"] {
            let outcome = try run([command, "--filter", "no-such-kernel"])
            XCTAssertNotEqual(outcome.status, 0, command)
            XCTAssertTrue(outcome.error.contains("no-such-kernel"), outcome.error)
        }
    }

    func testBenchJSONIsTheReportOfKinoraBenchKernels() throws {
        let arguments = ["--size", "small", "--filter", "silu", "--repeats", "1", "--json"]
        let ours = try run(["bench"] + arguments)
        XCTAssertEqual(ours.status, 0, ours.error)
        let theirs = try KinoraCommand.run(["bench", "kernels"] + arguments)
        XCTAssertEqual(theirs.status, 0, theirs.error)
        let reports = try [ours, theirs].map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.output.utf8)) as? [String: Any])
        }
        XCTAssertEqual(reports[0].keys.sorted(), reports[1].keys.sorted())
        for report in reports {
            let results = try XCTUnwrap(report["results"] as? [[String: Any]])
            XCTAssertEqual(results.map { $0["name"] as? String }, ["silu"])
            XCTAssertNotNil(results[0]["gpu_ms"] as? Double)
        }
    }

    func testAMissingVulkanLoaderGivesAClearMessage() throws {
        let outcome = try run(["devices"], environment: ["KINORA_VULKAN_LOADER": "/nonexistent/libvulkan.so.1"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("Vulkan is not available"), outcome.error)
    }
}
