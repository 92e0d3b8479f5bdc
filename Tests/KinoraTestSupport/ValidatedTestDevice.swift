import KinoraGPU
import KinoraShaders
import XCTest

/// One Vulkan device with the Khronos validation layer on, shared by every test of the model and pipeline targets,
/// and the check each test ends with: any validation message fails it.
public enum ValidatedTestDevice {
    public static let shared: GPUDevice = {
        do {
            return try GPUDevice(selection: DeviceSelection.fromEnvironment(), validation: true,
                                 shaders: { ShaderLibrary.spirv(named: $0) })
        } catch {
            fatalError("cannot open a Vulkan device with validation for the tests: \(error)")
        }
    }()

    /// Fails the running test if the validation layer reported anything since the last check, listing what it said.
    public static func assertNoValidationMessages(file: StaticString = #filePath, line: UInt = #line) {
        let messages = shared.instance.validationLog.drain()
        XCTAssertTrue(messages.isEmpty, "validation messages:\n" + messages.map(\.description).joined(separator: "\n"),
                      file: file, line: line)
    }
}
