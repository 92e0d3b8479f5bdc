import Foundation
import KinoraTestSupport
import XCTest

/// Runs the built `kinora` binary as a user would and checks its output and exit status.
final class CommandLineTests: XCTestCase {
    func testDevicesJSONListsASelectedDeviceWithFeaturesAndTier() throws {
        let outcome = try KinoraCommand.run(["devices", "--json"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let devices = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [[String: Any]])
        XCTAssertFalse(devices.isEmpty)
        XCTAssertEqual(devices.filter { $0["selected"] as? Bool == true }.count, 1)
        let features = try XCTUnwrap(devices[0]["features"] as? [String: Any])
        XCTAssertNotNil(features["subgroupSize"])
        XCTAssertNotNil(features["maxStorageBufferRange"])
        XCTAssertTrue(["scalar-fp32", "fp16", "cooperative-matrix"].contains(devices[0]["tier"] as? String ?? ""))
    }

    func testMissingVulkanLoaderGivesOneClearMessageAndANonZeroExit() throws {
        let outcome = try KinoraCommand.run(["devices"], environment: ["KINORA_VULKAN_LOADER": "/nonexistent/libvulkan.so.1"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("Vulkan is not available"), outcome.error)
        XCTAssertEqual(outcome.error.split(separator: "\n").count, 1, outcome.error)
    }

    func testUnknownDeviceIsReportedWithTheDevicesThatExist() throws {
        let outcome = try KinoraCommand.run(["bench", "kernels", "--device", "no-such-gpu", "--filter", "silu"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("no-such-gpu") && outcome.error.contains("available"), outcome.error)
    }

    func testBadMemoryBudgetIsRejected() throws {
        let outcome = try KinoraCommand.run(["bench", "kernels", "--vram", "lots", "--filter", "silu"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("--vram lots"), outcome.error)
    }

    func testImageWritesAPNGWithItsSettingsOnTheTinyFixtureModel() throws {
        let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let model = repository.appending(path: "Tests/Fixtures/pipeline/sd").path
        let output = FileManager.default.temporaryDirectory.appending(path: "kinora-cli-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: output) }
        let outcome = try KinoraCommand.run(["image", "--model", model, "--prompt", "a red fox", "--steps", "2", "--seed", "7",
                               "--width", "24", "--height", "16", "--validation", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.error.contains("2/2"), outcome.error)
        XCTAssertFalse(outcome.error.contains("validation "), outcome.error)
        let data = try Data(contentsOf: output)
        XCTAssertEqual(Array(data.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertNotNil(data.range(of: Data("Steps: 2, Sampler: euler".utf8)))
        XCTAssertNotNil(data.range(of: Data("Seed: 7".utf8)))
    }

    func testImagePromptSyntaxIsRecordedAndPlainWarnsWhenItDropsTokens() throws {
        let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let model = repository.appending(path: "Tests/Fixtures/pipeline/sd").path
        let output = FileManager.default.temporaryDirectory.appending(path: "kinora-cli-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: output) }
        let long = Array(repeating: "a red fox", count: 40).joined(separator: " ")
        for syntax in ["plain", "a1111"] {
            let outcome = try KinoraCommand.run(["image", "--model", model, "--prompt", long, "--prompt-syntax", syntax,
                                                 "--steps", "1", "--width", "16", "--height", "16", "-o", output.path])
            XCTAssertEqual(outcome.status, 0, outcome.error)
            XCTAssertEqual(outcome.error.contains("--prompt is longer than CLIP's 75 tokens"), syntax == "plain",
                           outcome.error)
            XCTAssertNotNil(try Data(contentsOf: output).range(of: Data("Prompt syntax: \(syntax)".utf8)))
        }
        let unknown = try KinoraCommand.run(["image", "--model", model, "--prompt", "x", "--prompt-syntax", "comfy",
                                             "-o", output.path])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.error.contains("plain") && unknown.error.contains("a1111"), unknown.error)
    }

    func testImageFromNaNWeightsFailsNamingTheModelAndWritesNothing() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-cli-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let model = folder.appending(path: "nansd"), output = folder.appending(path: "out.png")
        try NaNWeightsFixture.make(at: model)
        let outcome = try KinoraCommand.run(["image", "--model", model.path, "--prompt", "x", "--steps", "1",
                                             "--width", "16", "--height", "16", "-o", output.path])
        XCTAssertEqual(outcome.status, 1, outcome.error)
        XCTAssertTrue(outcome.error.contains("NaN or infinite"), outcome.error)
        XCTAssertTrue(outcome.error.contains(model.path), outcome.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
    }

    func testLoRAStrengthsBeyondTheWorkflowsRangeAreRefusedByTheCommandToo() throws {
        for argument in ["adapter.safetensors:100", "adapter.safetensors:nan", ":0.5"] {
            let outcome = try KinoraCommand.run(["image", "--model", "unused", "--prompt", "x", "--lora", argument,
                                                 "-o", "/tmp/kinora-unused.png"])
            XCTAssertNotEqual(outcome.status, 0, argument)
            XCTAssertTrue(outcome.error.contains("--lora"), outcome.error)
        }
    }

    func testImageSizesAndGuidanceOutsideTheirRangesAreRefusedStatingTheRange() throws {
        let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let model = repository.appending(path: "Tests/Fixtures/pipeline/sd").path
        let output = FileManager.default.temporaryDirectory.appending(path: "kinora-cli-\(UUID()).png")
        for (extra, expected) in [(["--width", "200000", "--height", "200000"], "from 2 to 8192"),
                                  (["--cfg", "nan"], "between 0.0 and 30.0, got nan"),
                                  (["--cfg", "inf"], "between 0.0 and 30.0, got inf")] {
            let outcome = try KinoraCommand.run(["image", "--model", model, "--prompt", "x", "--steps", "1",
                                                 "-o", output.path] + extra)
            XCTAssertEqual(outcome.status, 1, outcome.error)
            XCTAssertTrue(outcome.error.contains(expected), outcome.error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        }
    }

    func testImageOverTheBudgetFailsBeforeAnyStepAndWritesNothing() throws {
        let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let output = FileManager.default.temporaryDirectory.appending(path: "kinora-cli-\(UUID()).png")
        let outcome = try KinoraCommand.run(["image", "--model", repository.appending(path: "Tests/Fixtures/pipeline/sd").path,
                               "--prompt", "x", "--vram", "64KiB", "-o", output.path])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("needs about"), outcome.error)
        XCTAssertFalse(outcome.error.contains("1/"), outcome.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
    }

    func testEncodeRefusesAFrameRateAWorkflowCouldNotAskFor() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-fps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try KinoraCommand.run(["encode", "--raw-rgb", "2x2", "--frames", "-", "--fps", "1000",
                                             "-o", folder.appending(path: "out.mp4").path])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("--fps must be within 1...240 frames per second, got 1000"), outcome.error)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    func testEncodeRefusesARawFrameSizeBeyondTheBoundStatingTheRangeAndWritesNothing() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-raw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appending(path: "out.mp4")
        let outcome = try KinoraCommand.run(["encode", "--raw-rgb", "200000x200000", "--frames", "-", "--fps", "24",
                                             "-o", output.path])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("--raw-rgb width must be within 1...16384 pixels, got 200000"),
                      outcome.error)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }

    func testBenchKernelsJSONReportsTimesAndRatesUnderValidation() throws {
        let outcome = try KinoraCommand.run(["bench", "kernels", "--filter", "matmul-f32", "--matmul-size", "33", "--repeats", "1",
                               "--json", "--validation"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertFalse(outcome.error.contains("validation"), outcome.error)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        let results = try XCTUnwrap(report["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 1)
        XCTAssertTrue((results[0]["name"] as? String ?? "").contains("matmul"))
        XCTAssertGreaterThan(results[0]["gflops"] as? Double ?? 0, 0)
    }
}
