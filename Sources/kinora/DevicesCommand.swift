import ArgumentParser
import Foundation
import KinoraGPU

/// `kinora devices`: every Vulkan device with its driver, memory, features and the kernel tier it would run.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List Vulkan devices, their memory, features and kernel tier.")

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    @Option(name: .long, help: "The device request to mark as selected (as --device elsewhere).")
    var device: String?

    /// What `--json` prints for one device.
    struct Report: Codable {
        var index: Int
        var name: String
        var type: String
        var vendorID: UInt32
        var deviceID: UInt32
        var apiVersion: String
        var driver: String
        var driverInfo: String
        var heaps: [PhysicalDevice.Heap]
        var features: PhysicalDevice.Features
        var tier: String
        var selected: Bool
    }

    func run() throws {
        let instance = try VulkanInstance(validation: false)
        let devices = try instance.physicalDevices()
        let selected = try? DeviceSelection.fromEnvironment(overriding: device).choose(from: devices)
        let reports = devices.map { device in
            Report(index: device.index, name: device.name, type: device.kind.rawValue, vendorID: device.vendorID,
                   deviceID: device.deviceID, apiVersion: device.apiVersion, driver: device.driverName,
                   driverInfo: device.driverInfo, heaps: device.heaps, features: device.features,
                   tier: device.tier.rawValue, selected: device.index == selected?.index)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
            return
        }
        if reports.isEmpty { print("No Vulkan devices found.") }
        for report in reports { print(Self.table(report)) }
    }

    static func table(_ report: Report) -> String {
        let features = report.features
        var rows: [(String, String)] = [
            ("type", report.type),
            ("driver", "\(report.driver) \(report.driverInfo)".trimmingCharacters(in: .whitespaces)),
            ("Vulkan", report.apiVersion),
            ("kernel tier", report.tier),
        ]
        for (index, heap) in report.heaps.enumerated() {
            var text = "\(ByteCount(heap.size))\(heap.deviceLocal ? " device-local" : "")"
            if let budget = heap.budget, let usage = heap.usage {
                text += ", budget \(ByteCount(budget)), used \(ByteCount(usage))"
            } else {
                text += ", no VK_EXT_memory_budget"
            }
            rows.append(("heap \(index)", text))
        }
        rows += [
            ("fp16 arithmetic", yes(features.float16Arithmetic)),
            ("16-bit storage", yes(features.storage16Bit)),
            ("int8 arithmetic", yes(features.int8Arithmetic)),
            ("subgroup size", "\(features.subgroupSize) (\(features.minSubgroupSize)–\(features.maxSubgroupSize)"
                + "\(features.subgroupSizeControl ? ", size control" : ""))"),
            ("cooperative matrix", features.cooperativeMatrix
                ? features.cooperativeMatrixShapes.joined(separator: ", ") : "no"),
            ("shared memory", "\(ByteCount(UInt64(features.maxSharedMemory)))"),
            ("max storage buffer", "\(ByteCount(features.maxStorageBufferRange))"),
            ("max allocation", "\(ByteCount(features.maxMemoryAllocationSize))"),
            ("timestamps", yes(features.timestamps)),
        ]
        let marker = report.selected ? "  (selected)" : ""
        let width = rows.map(\.0.count).max() ?? 0
        let body = rows.map { "  \($0.0.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.1)" }
        return (["[\(report.index)] \(report.name)\(marker)"] + body).joined(separator: "\n") + "\n"
    }

    private static func yes(_ flag: Bool) -> String { flag ? "yes" : "no" }
}
