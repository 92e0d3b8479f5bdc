import Foundation
import XCTest

@testable import KinoraPipeline

/// Where a video model's single transformer file takes its other parts from (`ModelLocator.baseFolder`): the
/// workflow's `base` (a catalog family or a path), else the family's catalog `base`, else its own diffusers folder;
/// each refusal names the file, line and field.
final class ModelLocatorBaseTests: XCTestCase {
    private let entry = SourceLocation(file: "w.yaml", line: 4, column: 9)
    private let baseLine = SourceLocation(file: "w.yaml", line: 5, column: 11)
    /// The tiny Wan 2.1 fixture: the diffusers folder tiny-wan21 (and so tiny-wan21-causal's base) names.
    private let fixture = TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-pipeline/t2v").standardizedFileURL

    /// A models folder with `diffusion_models/fox.pt` (the locator does not read it) and `my-base/`, searched before
    /// the project's catalog folder (where the tiny families' fixtures are found) unless `catalogRoot` is false.
    private func locator(catalogRoot: Bool = true) throws -> (ModelLocator, URL) {
        let root = try TestSupport.temporaryFolder(self)
        let file = root.appendingPathComponent("diffusion_models/fox.pt")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try Data("pt".utf8).write(to: file)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("my-base"),
                                                withIntermediateDirectories: true)
        let roots = [root] + (catalogRoot ? [TestSupport.catalogFolder] : [])
        return (ModelLocator(catalog: try TestSupport.catalog(), searchPaths: ModelSearchPaths(roots: roots),
                             base: nil), root)
    }

    private func reference(_ source: ModelReference.Source, family: String, base: String? = nil) -> ModelReference {
        ModelReference(name: "fox", source: source, family: family, base: base,
                       baseLocation: base.map { _ in baseLine }, location: entry)
    }

    private func base(_ reference: ModelReference, _ locator: ModelLocator) throws -> URL? {
        try locator.baseFolder(of: locator.locate(reference), for: reference)
    }

    func testACheckpointTakesTheFamilysCatalogBaseOrTheOneTheWorkflowNames() throws {
        let (locator, root) = try locator()
        let checkpoint = reference(.path("fox.pt"), family: "tiny-wan21-causal")
        let located = try locator.locate(checkpoint)
        XCTAssertEqual(located.url.path, root.appendingPathComponent("diffusion_models/fox.pt").path)
        XCTAssertEqual(located.layout.name, "single_file")
        XCTAssertEqual(try base(checkpoint, locator)?.path, fixture.path, "tiny-wan21's folder, the catalog's base")
        XCTAssertEqual(try base(reference(.path("fox.pt"), family: "tiny-wan21-causal", base: "tiny-wan21"), locator)?
            .path, fixture.path, "a catalog family, found by its names")
        XCTAssertEqual(try base(reference(.path("fox.pt"), family: "tiny-wan21-causal", base: "my-base"), locator)?
            .path, root.appendingPathComponent("my-base").path, "a path, looked up in the models folders")
        // A folder carries its own parts.
        XCTAssertNil(try base(reference(.catalog("tiny-wan21-causal"), family: "tiny-wan21-causal"), locator))
    }

    func testAMissingBaseIsRefusedNamingTheFieldAndEveryPlaceLookedIn() throws {
        let (locator, root) = try locator()
        let given = reference(.path("fox.pt"), family: "tiny-wan21-causal", base: "Wan2.1-T2V-1.3B-Diffusers")
        XCTAssertThrowsError(try base(given, locator)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("w.yaml:5:11: models.fox.base: 'fox' is a single transformer file; its VAE, "
                                         + "text encoder, tokenizer and configuration come from "
                                         + "'Wan2.1-T2V-1.3B-Diffusers', which was not found; looked in:"), text)
            XCTAssertTrue(text.contains(root.appendingPathComponent("diffusion_models/Wan2.1-T2V-1.3B-Diffusers").path),
                          text)
        }
        // The catalog's base, where the fixtures are not searched.
        let (bare, _) = try self.locator(catalogRoot: false)
        XCTAssertThrowsError(try base(reference(.path("fox.pt"), family: "tiny-wan21-causal"), bare)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("w.yaml:4:9: models.fox: 'fox' is a single transformer file"), text)
            XCTAssertTrue(text.contains("come from a diffusers folder of tiny-wan21 (tiny-wan21-causal's base in the "
                                        + "catalog), which was not found"), text)
        }
    }

    func testABaseIsRefusedForAFolderAModelThatMakesNoVideoOrAFile() throws {
        let (locator, root) = try locator()
        let cases: [(ModelReference, String)] = [
            (reference(.catalog("tiny-wan21-causal"), family: "tiny-wan21-causal", base: "tiny-wan21"),
             "'fox' is the diffusers folder"),
            (reference(.catalog("tiny-sd15"), family: "tiny-sd15", base: "tiny-wan21"),
             "'fox' is a tiny-sd15 model, which makes images"),
            (reference(.path("fox.pt"), family: "tiny-wan21-causal", base: "diffusion_models/fox.pt"),
             root.appendingPathComponent("diffusion_models/fox.pt").path + " is a file; a base is a Wan diffusers "
                + "folder"),
        ]
        for (given, message) in cases {
            XCTAssertThrowsError(try base(given, locator), message) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("w.yaml:5:11: models.fox.base: "), text)
                XCTAssertTrue(text.contains(message), text)
            }
        }
    }
}
