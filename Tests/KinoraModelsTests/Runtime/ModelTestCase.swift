import Foundation
import KinoraFormats
import KinoraGPU
import KinoraModels
import KinoraTensor
import KinoraTestSupport
import XCTest

/// The arena the model tests share, on the shared validated device.
enum ModelTestDevice {
    static let arena = ActivationArena(device: ValidatedTestDevice.shared)
}

/// Base class for conformance tests against fixtures made by `scripts/fixtures/*.py` with the reference
/// implementations (diffusers / transformers), committed under `Tests/Fixtures/`.
class ModelTestCase: XCTestCase {
    var device: GPUDevice { ValidatedTestDevice.shared }
    var arena: ActivationArena { ModelTestDevice.arena }

    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    func makeGraph() -> Graph { Graph(arena: arena) }

    /// Runs `body` with the device budget set to `budget`, restoring it afterwards.
    func withBudget<T>(_ budget: UInt64, _ body: () throws -> T) rethrows -> T {
        let memory = device.memory
        let saved = memory.budget
        defer { memory.budget = saved }
        memory.budget = budget
        return try body()
    }

    /// `Tests/Fixtures/<path>` in this checkout.
    func fixtureURL(_ path: String, file: StaticString = #filePath) -> URL {
        var directory = URL(filePath: "\(file)").deletingLastPathComponent()
        while directory.lastPathComponent != "Tests" && directory.pathComponents.count > 1 {
            directory.deleteLastPathComponent()
        }
        return directory.appending(path: "Fixtures").appending(path: path)
    }

    /// The safetensors fixture at `Tests/Fixtures/<path>`.
    func fixture(_ path: String) throws -> SafetensorsFile {
        try SafetensorsFile(url: fixtureURL(path))
    }

    /// Relative L2 error of `actual` against `expected`: ‖a − e‖₂ / ‖e‖₂.
    func relativeL2(_ actual: [Float], _ expected: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (a, e) in zip(actual, expected) {
            let d = Double(a) - Double(e)
            difference += d.isNaN ? .infinity : d * d
            norm += Double(e) * Double(e)
        }
        return (difference / max(norm, 1e-30)).squareRoot()
    }

    /// Asserts equal counts and a relative L2 error within `tolerance`.
    func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Double, _ message: String = "",
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "element count \(message)", file: file, line: line)
        guard actual.count == expected.count else { return }
        let error = relativeL2(actual, expected)
        XCTAssertLessThanOrEqual(error, tolerance, "relative L2 error \(error) > \(tolerance) \(message)",
                                 file: file, line: line)
    }
}
