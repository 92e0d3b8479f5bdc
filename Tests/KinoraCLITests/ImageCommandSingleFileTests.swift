import Foundation
import KinoraTestSupport
import XCTest

/// `kinora image` on the tiny SD 1.x single-file checkpoint, run as a user would. The checkpoint is assembled from
/// the SD 1.x folder fixture by its layout recipe (`SingleFileFixture`) into a temporary folder first.
final class ImageCommandSingleFileTests: XCTestCase {
    private let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func fixture(_ path: String) -> String { repository.appending(path: "Tests/Fixtures/\(path)").path }

    func testImageRunsASingleFileCheckpointWithItsTokenizerAndConfiguration() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-single-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appending(path: "sd.safetensors"), output = folder.appending(path: "image.png")
        try SingleFileFixture("sd", fixtures: repository.appending(path: "Tests/Fixtures")).write(to: model)
        let outcome = try KinoraCommand.run(["image", "--model", model.path,
                               "--tokenizer", fixture("pipeline/sd/tokenizer"), "--config", fixture("pipeline/sd"),
                               "--prediction", "eps", "--prompt", "a red fox", "--steps", "2", "--seed", "7",
                               "--width", "24", "--height", "16", "--validation", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.error.contains("2/2"), outcome.error)
        XCTAssertFalse(outcome.error.contains("validation "), outcome.error)
        let data = try Data(contentsOf: output)
        XCTAssertEqual(Array(data.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertNotNil(data.range(of: Data("Model: sd.safetensors".utf8)))
    }

    func testPictureMetadataRecordsEachLoRAWithItsStrength() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-lora-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appending(path: "image.png")
        let outcome = try KinoraCommand.run(["image", "--model", fixture("pipeline/sd"),
                               "--lora", fixture("lora/sd-kohya.safetensors") + ":0.8",
                               "--lora", fixture("lora/sd-peft.safetensors"), "--prompt", "a red fox",
                               "--steps", "1", "--width", "16", "--height", "16", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let data = try Data(contentsOf: output)
        XCTAssertNotNil(data.range(of: Data("a red fox <lora:sd-kohya:0.8> <lora:sd-peft:1.0>\n".utf8)))
        XCTAssertNotNil(data.range(of: Data(
            #""loras":[{"file":"sd-kohya.safetensors","strength":0.8},{"file":"sd-peft.safetensors","strength":1}]"#
                .utf8)))
    }

    func testTimingsPrintTheDeviceEveryStepAndTheDecode() throws {
        let output = FileManager.default.temporaryDirectory.appending(path: "kinora-timings-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: output) }
        let outcome = try KinoraCommand.run(["image", "--model", fixture("pipeline/sd"), "--prompt", "a red fox",
                               "--steps", "2", "--width", "16", "--height", "16", "--timings", "-o", output.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let lines = outcome.error.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("device: ") && $0.count > "device: ".count }, outcome.error)
        for label in ["step 1/2: ", "step 2/2: ", "decode: "] {
            let line = lines.first { $0.hasPrefix(label) }
            let seconds = line.flatMap { Double($0.dropFirst(label.count).dropLast(2)) }
            XCTAssertNotNil(seconds, "no '\(label)<seconds> s' line in:\n\(outcome.error)")
            XCTAssertTrue(line?.hasSuffix(" s") == true, outcome.error)
        }
    }

    func testSingleFileOptionsAreRejectedForAFolder() throws {
        let outcome = try KinoraCommand.run(["image", "--model", fixture("pipeline/sd"),
                               "--tokenizer", fixture("pipeline/sd/tokenizer"),
                               "--prompt", "x", "-o", "/tmp/never.png"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("single-file"), outcome.error)
    }

    func testHelpDocumentsTheSingleFileOptions() throws {
        let outcome = try KinoraCommand.run(["image", "--help"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        for option in ["--tokenizer", "--config", "--prediction", "bpe_simple_vocab_16e6.txt", "single-file"] {
            XCTAssertTrue(outcome.output.contains(option), "--help lacks \(option):\n\(outcome.output)")
        }
    }
}
