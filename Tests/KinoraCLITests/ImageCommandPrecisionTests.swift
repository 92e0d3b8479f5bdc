import Foundation
import KinoraTestSupport
import XCTest

/// `kinora image --precision` on the tiny SD 1.x folder: the value reaches the pipeline (the picture's metadata
/// records the precision the UNet ran in) and a value that is not one is refused before anything loads.
final class ImageCommandPrecisionTests: XCTestCase {
    private let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func fixture(_ path: String) -> String { repository.appending(path: "Tests/Fixtures/\(path)").path }

    private func generate(_ extra: [String]) throws -> (outcome: KinoraCommand.Outcome, picture: Data?) {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-precision-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appending(path: "image.png")
        let outcome = try KinoraCommand.run(["image", "--model", fixture("pipeline/sd"), "--prompt", "a red fox",
                                             "--steps", "1", "--width", "16", "--height", "16", "--validation",
                                             "-o", output.path] + extra)
        return (outcome, try? Data(contentsOf: output))
    }

    func testPrecisionReachesThePipelineAndIsRecordedInThePicture() throws {
        for (arguments, recorded) in [([String](), "fp32"), (["--precision", "fp16"], "fp16"),
                                      (["--precision", "bf16"], "bf16")] {
            let (outcome, picture) = try generate(arguments)
            XCTAssertEqual(outcome.status, 0, outcome.error)
            XCTAssertFalse(outcome.error.contains("validation "), outcome.error)
            let data = try XCTUnwrap(picture, "\(arguments)")
            XCTAssertNotNil(data.range(of: Data(#""precision":"\#(recorded)""#.utf8)),
                            "\(arguments): the metadata records \(recorded)")
        }
    }

    func testAnUnknownPrecisionIsRefusedNamingTheChoices() throws {
        let (outcome, picture) = try generate(["--precision", "fp8"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertNil(picture)
        for word in ["--precision", "fp8", "fp32", "fp16", "bf16"] {
            XCTAssertTrue(outcome.error.contains(word), "the message lacks \(word): \(outcome.error)")
        }
    }

    func testBenchModelRefusesPrecisionForModelsItDoesNotApplyTo() throws {
        let outcome = try KinoraCommand.run(["bench", "model", "sd15", "--precision", "half"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertTrue(outcome.error.contains("--precision"), outcome.error)
    }
}
