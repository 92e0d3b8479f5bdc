import XCTest

@testable import KinoraPipeline

final class ModelLocatorTests: XCTestCase {
    private let location = SourceLocation(file: "w.yaml", line: 3, column: 5)

    private func touch(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: url)
    }

    func testFindsAPathInAComfyUIModelsFolder() throws {
        let comfy = try TestSupport.temporaryFolder(self)
        try touch(comfy.appendingPathComponent("checkpoints/dreamy.safetensors"))
        let locator = ModelLocator(catalog: try TestSupport.catalog(), searchPaths: ModelSearchPaths(roots: [comfy]),
                                   base: nil)
        let reference = ModelReference(name: "hero", source: .path("dreamy.safetensors"), family: "sd15",
                                       location: location)
        let found = try locator.locate(reference)
        XCTAssertEqual(found.url.lastPathComponent, "dreamy.safetensors")
        XCTAssertEqual(found.layout.name, "single_file")
    }

    func testFindsACatalogVoiceWithItsCompanionFile() throws {
        let root = try TestSupport.temporaryFolder(self)
        try touch(root.appendingPathComponent("voices/en_US-joe-medium.onnx"))
        try touch(root.appendingPathComponent("voices/en_US-joe-medium.onnx.json"))
        let locator = ModelLocator(catalog: try TestSupport.catalog(), searchPaths: ModelSearchPaths(roots: [root]),
                                   base: nil)
        let reference = ModelReference(name: "narrator", source: .catalog("piper-vits"), family: "piper-vits",
                                       location: location)
        XCTAssertEqual(try locator.locate(reference).url.path,
                       root.appendingPathComponent("voices/en_US-joe-medium.onnx").path)
    }

    func testNotFoundListsEveryPlaceLookedIn() throws {
        let first = try TestSupport.temporaryFolder(self), second = try TestSupport.temporaryFolder(self)
        let locator = ModelLocator(catalog: try TestSupport.catalog(),
                                   searchPaths: ModelSearchPaths(roots: [first, second]), base: nil)
        let reference = ModelReference(name: "hero", source: .path("missing.safetensors"), family: "sd15",
                                       location: location)
        XCTAssertThrowsError(try locator.locate(reference)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("w.yaml:3:5: model 'hero' (sd15) not found; looked in:"), text)
            XCTAssertTrue(text.contains(first.appendingPathComponent("missing.safetensors").path), text)
            XCTAssertTrue(text.contains(second.appendingPathComponent("checkpoints/missing.safetensors").path), text)
            XCTAssertTrue(text.contains(second.appendingPathComponent("loras/missing.safetensors").path), text)
        }
    }

    func testIncompleteFolderNamesTheMissingFiles() throws {
        let root = try TestSupport.temporaryFolder(self)
        try touch(root.appendingPathComponent("my-sd/model_index.json"))
        let locator = ModelLocator(catalog: try TestSupport.catalog(), searchPaths: ModelSearchPaths(roots: [root]),
                                   base: nil)
        let reference = ModelReference(name: "hero", source: .path("my-sd"), family: "sd15", location: location)
        XCTAssertThrowsError(try locator.locate(reference)) { error in
            XCTAssertTrue("\(error)".contains("missing scheduler/scheduler_config.json"), "\(error)")
        }
    }

    func testStandardSearchOrderIsFlagThenEnvironmentThenBundled() {
        let paths = ModelSearchPaths.standard(modelsDirs: ["/a"], environment: ["KINORA_MODELS": "/b:/c:/a"],
                                              bundled: URL(fileURLWithPath: "/kinora/models"))
        XCTAssertEqual(paths.roots.map(\.path), ["/a", "/b", "/c", "/kinora/models"])
        let candidates = paths.candidates(for: "x.onnx", base: URL(fileURLWithPath: "/work"), preferred: ["voices"])
        XCTAssertEqual(candidates.prefix(3).map(\.path), ["/work/x.onnx", "/a/x.onnx", "/a/voices/x.onnx"])
        XCTAssertEqual(paths.candidates(for: "/abs/x", base: nil).map(\.path), ["/abs/x"])
    }

    func testFindsALoRAInAModelsFolderLoRAsSubfolderAndRefusesAFolder() throws {
        let root = try TestSupport.temporaryFolder(self)
        try touch(root.appendingPathComponent("loras/style.safetensors"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("loras/folder.safetensors"),
                                                withIntermediateDirectories: true)
        let locator = ModelLocator(catalog: try TestSupport.catalog(), searchPaths: ModelSearchPaths(roots: [root]),
                                   base: root.appendingPathComponent("workflow"))
        let model = ModelReference(name: "hero", source: .catalog("sd15"), family: "sd15",
                                   location: SourceLocation(file: "w.yaml", line: 3, column: 9))
        func lora(_ file: String) -> LoRAReference {
            LoRAReference(file: file, strength: 0.8, location: SourceLocation(file: "w.yaml", line: 5, column: 19),
                          field: "models.hero.loras[0].file")
        }
        XCTAssertEqual(try locator.locate(lora("style.safetensors"), of: model).path,
                       root.appendingPathComponent("loras/style.safetensors").path)
        XCTAssertThrowsError(try locator.locate(lora("folder.safetensors"), of: model)) { error in
            XCTAssertTrue("\(error)".hasPrefix("w.yaml:5:19: models.hero.loras[0].file: "), "\(error)")
            XCTAssertTrue("\(error)".contains("is a folder, not a LoRA file"), "\(error)")
        }
        XCTAssertThrowsError(try locator.locate(lora("gone.safetensors"), of: model)) { error in
            guard case CatalogError.loraNotFound(_, "hero", _, "models.hero.loras[0].file", let searched) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(searched.first, root.appendingPathComponent("workflow/gone.safetensors").path)
            XCTAssertTrue(searched.contains(root.appendingPathComponent("loras/gone.safetensors").path))
        }
    }
}
