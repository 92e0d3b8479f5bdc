@testable import KinoraGPU
import XCTest

final class ValidationLogTests: GPUTestCase {
    func testTheTestDeviceRunsWithTheKhronosValidationLayer() {
        XCTAssertTrue(device.instance.validationEnabled)
    }

    func testMessagesFromTheDebugMessengerReachTheLog() {
        device.instance.submitDebugMessage("kinora validation path check")
        let messages = device.instance.validationLog.drain()
        XCTAssertEqual(messages.count, 1)
        XCTAssertEqual(messages.first?.isError, true)
        XCTAssertEqual(messages.first?.text, "kinora validation path check")
    }
}
