@testable import KinoraGPU
import XCTest

final class ValidationLogTests: GPUTestCase {
    func testTheTestDeviceRunsWithTheKhronosValidationLayer() {
        XCTAssertTrue(device.instance.validationEnabled)
    }

    /// Each instance's messages go to its own log: another validated instance opened and closed meanwhile does not
    /// take them over (its log is gone by then; the shim once kept one global context for every messenger).
    func testAnotherInstanceComingAndGoingLeavesTheMessagesWithTheirOwnLog() throws {
        do {
            let other = try VulkanInstance(validation: true)
            other.submitDebugMessage("the other instance")
            XCTAssertEqual(other.validationLog.drain().map(\.text), ["the other instance"])
        }
        device.instance.submitDebugMessage("after the other instance")
        XCTAssertEqual(device.instance.validationLog.drain().map(\.text), ["after the other instance"])
    }

    func testMessagesFromTheDebugMessengerReachTheLog() {
        device.instance.submitDebugMessage("kinora validation path check")
        let messages = device.instance.validationLog.drain()
        XCTAssertEqual(messages.count, 1)
        XCTAssertEqual(messages.first?.isError, true)
        XCTAssertEqual(messages.first?.text, "kinora validation path check")
    }
}
