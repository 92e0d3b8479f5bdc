import Foundation
import KinoraFormats
import KinoraTestSupport
import KinoraModels
import XCTest

/// The layout-recipe assembler the single-file tests rely on: each transform on a handmade source, and a recipe
/// entry whose shape its sources cannot make is refused naming the recipe and the tensor.
final class SingleFileFixtureTests: XCTestCase {
    private func entry(_ name: String, _ transform: String, shape: [Int], tensors: [String], dtype: String = "F32",
                       source: String = "s") -> [String: Any] {
        ["name": name, "shape": shape, "dtype": dtype, "transform": transform, "source": source, "tensors": tensors]
    }

    /// A fixtures folder with one source file `s` and the recipe `tiny` of `entries`.
    private func recipe(_ entries: [[String: Any]], in folder: URL) throws -> SingleFileFixture {
        var source = SafetensorsWriter()
        try source.add("q", shape: [1, 2], floats: [1, 2])
        try source.add("k", shape: [1, 2], floats: [3, 4])
        try source.add("matrix", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        try source.add("half", shape: [2], floats: [0.5, -2], as: .f16)
        try source.write(to: folder.appending(path: "source.safetensors"))
        let recipes = folder.appending(path: "single-file")
        try FileManager.default.createDirectory(at: recipes, withIntermediateDirectories: true)
        let json = try JSONSerialization.data(withJSONObject: [
            "sources": ["s": "source.safetensors"], "tensors": entries,
        ])
        try json.write(to: recipes.appending(path: "tiny.layout.json"))
        return SingleFileFixture("tiny", fixtures: folder)
    }

    func testEveryTransformBuildsTheStatedTensor() throws {
        let folder = try makeTemporaryFolder(self)
        let fixture = try recipe([
            entry("fused", "concat", shape: [2, 2], tensors: ["k", "q"]),
            entry("projection", "transpose", shape: [3, 2], tensors: ["matrix"]),
            entry("conv", "reshape", shape: [2, 3, 1, 1], tensors: ["matrix"]),
            entry("same", "identity", shape: [2], tensors: ["half"], dtype: "F16"),
            ["name": "scale", "shape": [Int](), "dtype": "F32", "transform": "constant", "value": 4.6052],
        ], in: folder)
        let url = folder.appending(path: "tiny.safetensors")
        try fixture.write(to: url)
        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(file.tensorNames, ["conv", "fused", "projection", "same", "scale"])
        XCTAssertEqual(try file.floats("fused"), [3, 4, 1, 2])
        XCTAssertEqual(try file.floats("projection"), [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(try file.info("conv").shape, [2, 3, 1, 1])
        XCTAssertEqual(try file.floats("conv"), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try file.info("same").dtype, .f16)
        XCTAssertEqual(try file.floats("same"), [0.5, -2])
        XCTAssertEqual(try file.info("scale").shape, [])
        XCTAssertEqual(try file.floats("scale"), [Float(4.6052)])
    }

    func testAnEntryItsSourcesCannotMakeIsRefusedNamingTheTensor() throws {
        let folder = try makeTemporaryFolder(self)
        let entries = [
            entry("bad", "transpose", shape: [2, 3], tensors: ["matrix"]),
            entry("bad", "concat", shape: [3, 2], tensors: ["q", "k"]),
            entry("bad", "identity", shape: [2], tensors: ["half"]),
            entry("bad", "identity", shape: [1, 2], tensors: ["q"], source: "t"),
            entry("bad", "rotate", shape: [1, 2], tensors: ["q"]),
        ]
        for bad in entries {
            let fixture = try recipe([bad], in: folder)
            XCTAssertThrowsError(try fixture.write(to: folder.appending(path: "tiny.safetensors"))) { error in
                XCTAssertTrue("\(error)".contains("tiny.layout.json: tensor 'bad'"), "\(error)")
            }
        }
    }
}
