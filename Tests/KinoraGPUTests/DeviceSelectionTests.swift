import KinoraGPU
import XCTest

final class DeviceSelectionTests: GPUTestCase {
    func testDefaultSelectionPicksAUsableDeviceAndReportsItsFeatures() throws {
        let devices = try device.instance.physicalDevices()
        XCTAssertFalse(devices.isEmpty)
        let chosen = try DeviceSelection(request: nil).choose(from: devices)
        XCTAssertTrue(chosen.features.storage16Bit)
        XCTAssertGreaterThan(chosen.features.subgroupSize, 0)
        XCTAssertGreaterThan(chosen.features.maxSharedMemory, 0)
        XCTAssertFalse(chosen.heaps.isEmpty)
    }

    func testRequestByNameIndexAndUnknownName() throws {
        let devices = try device.instance.physicalDevices()
        let first = devices[0]
        XCTAssertEqual(try DeviceSelection(request: "\(first.index)").choose(from: devices).name, first.name)
        let word = String(first.name.split(separator: " ")[0]).uppercased()
        XCTAssertEqual(try DeviceSelection(request: word).choose(from: devices).name, first.name)
        XCTAssertThrowsError(try DeviceSelection(request: "no-such-gpu-xyz").choose(from: devices)) { error in
            XCTAssertTrue("\(error)".contains("no-such-gpu-xyz"))
        }
    }

    func testAnEmptyDeviceListGivesAClearError() {
        XCTAssertThrowsError(try DeviceSelection().choose(from: [])) { error in
            XCTAssertTrue("\(error)".contains("no usable Vulkan device"))
        }
    }
}
