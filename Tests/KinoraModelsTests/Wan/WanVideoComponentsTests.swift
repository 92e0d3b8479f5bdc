import Foundation
import XCTest

@testable import KinoraModels

/// Finding a Wan model's parts: the tiny diffusers folders of `Tests/Fixtures/wan-pipeline/`, single files with the
/// default scheduler, and the folders that are refused by name.
final class WanVideoComponentsTests: XCTestCase {
    private let fixtures = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "Fixtures/wan-pipeline")

    func testADiffusersFolderNamesEveryPartAndWhetherItTakesAKeyframe() throws {
        let t2v = try WanVideoComponents(folder: fixtures.appending(path: "t2v"))
        XCTAssertEqual(t2v.transformer, .folder(fixtures.appending(path: "t2v/transformer")))
        XCTAssertEqual(t2v.vae, .folder(fixtures.appending(path: "t2v/vae")))
        XCTAssertEqual(t2v.textEncoder, .folder(fixtures.appending(path: "t2v/text_encoder")))
        XCTAssertEqual(t2v.tokenizer, fixtures.appending(path: "t2v/tokenizer"))
        XCTAssertEqual(t2v.scheduler.flowShift, 3)
        XCTAssertEqual(t2v.expandTimesteps, false)
        XCTAssertEqual(try WanVideoComponents(folder: fixtures.appending(path: "ti2v")).expandTimesteps, true)
    }

    /// Single files get the scheduler of Wan's diffusers folders: the same timesteps and sigmas as the folder's
    /// `scheduler_config.json` for both samplers.
    func testTheSingleFileSchedulerIsTheFoldersScheduler() throws {
        let folder = try SchedulerConfiguration(
            contentsOf: fixtures.appending(path: "t2v/scheduler/scheduler_config.json"))
        let single = WanVideoComponents.defaultScheduler(flowShift: 3)
        for kind in FlowSamplerKind.allCases {
            let expected = try kind.make(configuration: folder, steps: 50)
            let made = try kind.make(configuration: single, steps: 50)
            XCTAssertEqual(made.timesteps, expected.timesteps, "\(kind)")
            XCTAssertEqual(made.sigmas, expected.sigmas, "\(kind)")
        }
        let five = try FlowSamplerKind.unipc.make(
            configuration: WanVideoComponents.defaultScheduler(flowShift: 5), steps: 50)
        XCTAssertNotEqual(five.sigmas, try FlowSamplerKind.unipc.make(configuration: single, steps: 50).sigmas)
    }

    func testFoldersOfOtherModelsAreRefusedByName() throws {
        let work = FileManager.default.temporaryDirectory.appending(path: "kinora-wan-components-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let index = try JSONSerialization.jsonObject(
            with: Data(contentsOf: fixtures.appending(path: "t2v/model_index.json"))) as? [String: Any] ?? [:]
        func folder(_ name: String, _ change: (inout [String: Any]) -> Void, drop: String? = nil) throws -> URL {
            let url = work.appending(path: name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for component in ["scheduler", "text_encoder", "tokenizer", "transformer", "vae"] where component != drop {
                try FileManager.default.createSymbolicLink(
                    at: url.appending(path: component),
                    withDestinationURL: fixtures.appending(path: "t2v/\(component)"))
            }
            var fields = index
            change(&fields)
            try JSONSerialization.data(withJSONObject: fields).write(to: url.appending(path: "model_index.json"))
            return url
        }
        let cases: [(URL, String)] = [
            (
                try folder("a14b") { $0["transformer_2"] = ["diffusers", "WanTransformer3DModel"] },
                "transformer_2: Wan 2.2 A14B's second (low-noise) expert is not supported"
            ),
            (
                try folder("i2v") {
                    $0["_class_name"] = "WanImageToVideoPipeline"
                    $0["image_encoder"] = ["transformers", "CLIPVisionModel"]
                }, "image_encoder: Wan 2.1 I2V's CLIP image encoder is not supported"
            ),
            (
                try folder("sd") { $0["_class_name"] = "StableDiffusionPipeline" },
                "model_index.json names StableDiffusionPipeline, not WanImageToVideoPipeline or WanPipeline"
            ),
            (try folder("no-vae", { _ in }, drop: "vae"), "missing vae/config.json"),
            (work.appending(path: "nothing"), "it has no model_index.json"),
        ]
        for (url, message) in cases {
            XCTAssertThrowsError(try WanVideoComponents(folder: url)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
                XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            }
        }
    }
}
