import Foundation
import XCTest

@testable import KinoraPipeline

/// A model's `loras` list: both written forms, strengths checked, and mistakes reported with file, line and field.
final class LoRAReferenceTests: XCTestCase {
    private func loras(_ list: String) throws -> [LoRAReference] {
        let workflow = try Workflow.parse("""
            output: {size: 64x64}
            models:
              hero:
                catalog: sd15
                loras: \(list)
            shots:
              - {id: a, prompt: a boat, duration: 1, final: {model: hero}}
            """, file: "w.yaml")
        return try XCTUnwrap(workflow.model(named: "hero")).loras
    }

    private func assertIssue(_ list: String, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try loras(list), line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)", line: line)
        }
    }

    func testReadsMappingsAndTheShortFormInOrder() throws {
        let read = try loras("[{file: loras/style.safetensors, strength: 0.8}, detail.safetensors:-0.5, "
                             + "{file: 'C:/x:y.safetensors'}, 'a:b.safetensors']")
        XCTAssertEqual(read.map(\.file), ["loras/style.safetensors", "detail.safetensors", "C:/x:y.safetensors",
                                          "a:b.safetensors"])
        XCTAssertEqual(read.map(\.strength), [0.8, -0.5, 1, 1])
        XCTAssertEqual(read.map(\.field), ["models.hero.loras[0].file", "models.hero.loras[1]",
                                           "models.hero.loras[2].file", "models.hero.loras[3]"])
        XCTAssertEqual(read[0].location, SourceLocation(file: "w.yaml", line: 5, column: 20))
        XCTAssertEqual(try loras("[]"), [])
    }

    func testStrengthOutsideTheRangeOrNotFiniteIsRefusedNamingTheField() {
        assertIssue("[{file: a.safetensors, strength: 12}]",
                    "w.yaml:5:45: models.hero.loras[0].strength: the strength must be between -10 and 10")
        assertIssue("[a.safetensors:-11]", "models.hero.loras[0]: the strength must be between -10 and 10")
        assertIssue("[{file: a.safetensors, strength: nan}]", "loras[0].strength: the strength must be a finite")
        assertIssue("[a.safetensors:inf]", "loras[0]: the strength must be a finite number, got 'a.safetensors:inf'")
        assertIssue("[{file: a.safetensors, strength: strong}]", "expected a number such as 0.8, got 'strong'")
    }

    func testMissingFileUnknownKeyAndWrongShapesAreReported() {
        assertIssue("[{strength: 0.5}]", "models.hero.loras[0].file: missing required field 'file'")
        assertIssue("[{file: a.safetensors, weight: 0.5}]", "unknown key 'weight'")
        assertIssue("[':0.5']", "names no file before the strength")
        assertIssue("a.safetensors", "models.hero.loras: expected a list")
    }
}
