import Foundation
import KinoraGPU
import KinoraModels
import KinoraShaders
import KinoraTensor
import XCTest

/// One validated device and arena shared by the model tests; every test fails on any validation message.
enum ModelTestDevice {
    static let shared: GPUDevice = {
        do {
            return try GPUDevice(selection: DeviceSelection.fromEnvironment(), validation: true,
                                 shaders: { ShaderLibrary.spirv(named: $0) })
        } catch {
            fatalError("cannot open a Vulkan device with validation for the tests: \(error)")
        }
    }()
    static let arena = ActivationArena(device: shared)
}

/// Base class for conformance tests against fixtures made by `scripts/fixtures/*.py` with the reference
/// implementations (diffusers / transformers), committed under `Tests/Fixtures/`.
class ModelTestCase: XCTestCase {
    var device: GPUDevice { ModelTestDevice.shared }
    var arena: ActivationArena { ModelTestDevice.arena }

    override func tearDown() {
        let messages = ModelTestDevice.shared.instance.validationLog.drain()
        XCTAssertTrue(messages.isEmpty, "validation messages:\n" + messages.map(\.description).joined(separator: "\n"))
        super.tearDown()
    }

    func makeGraph() -> Graph { Graph(arena: arena) }

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
