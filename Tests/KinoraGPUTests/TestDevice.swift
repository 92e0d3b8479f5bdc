import KinoraGPU
import KinoraShaders
import XCTest

/// One validated device shared by the tests of this target; every test fails on any validation message.
enum TestDevice {
    static let shared: GPUDevice = {
        do {
            return try GPUDevice(selection: DeviceSelection.fromEnvironment(), validation: true,
                                 shaders: { ShaderLibrary.spirv(named: $0) })
        } catch {
            fatalError("cannot open a Vulkan device with validation for the tests: \(error)")
        }
    }()
}

/// Base class: opens the shared device and fails the test on validation messages.
class GPUTestCase: XCTestCase {
    var device: GPUDevice { TestDevice.shared }

    override func tearDown() {
        let messages = TestDevice.shared.instance.validationLog.drain()
        XCTAssertTrue(messages.isEmpty, "validation messages:\n" + messages.map(\.description).joined(separator: "\n"))
        super.tearDown()
    }
}
