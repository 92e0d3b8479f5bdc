import Foundation

/// One Vulkan device as `kinora devices` and `kinora-gpu-check devices` print it: driver, memory heaps, features and
/// the kernel tier it would run, as a table or (Codable) JSON.
public struct DeviceReport: Codable, Sendable {
    public var index: Int
    public var name: String
    public var type: String
    public var vendorID: UInt32
    public var deviceID: UInt32
    public var apiVersion: String
    public var driver: String
    public var driverInfo: String
    public var heaps: [PhysicalDevice.Heap]
    public var features: PhysicalDevice.Features
    public var tier: String
    public var selected: Bool

    public init(_ device: PhysicalDevice, selected: Bool) {
        index = device.index
        name = device.name
        type = device.kind.rawValue
        vendorID = device.vendorID
        deviceID = device.deviceID
        apiVersion = device.apiVersion
        driver = device.driverName
        driverInfo = device.driverInfo
        heaps = device.heaps
        features = device.features
        tier = device.tier.rawValue
        self.selected = selected
    }

    /// Every device the loader finds, the one `request` (or `KINORA_DEVICE`, or the default order) picks marked.
    public static func all(selecting request: String?) throws -> [DeviceReport] {
        let instance = try VulkanInstance(validation: false)
        let devices = try instance.physicalDevices()
        let selected = try? DeviceSelection.fromEnvironment(overriding: request).choose(from: devices)
        return devices.map { DeviceReport($0, selected: $0.index == selected?.index) }
    }

    /// The device's name and one aligned row per property.
    /// `reports` as the device commands print them: pretty JSON for tools, else each device's table (or a line
    /// saying there is none).
    public static func text(_ reports: [DeviceReport], json: Bool) throws -> String {
        guard json else {
            return reports.isEmpty ? "No Vulkan devices found." : reports.map(\.table).joined(separator: "\n")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(reports), as: UTF8.self)
    }

    public var table: String {
        var rows: [(String, String)] = [
            ("type", type),
            ("driver", "\(driver) \(driverInfo)".trimmingCharacters(in: .whitespaces)),
            ("Vulkan", apiVersion),
            ("kernel tier", tier),
        ]
        for (index, heap) in heaps.enumerated() {
            var text = "\(ByteCount(heap.size))\(heap.deviceLocal ? " device-local" : "")"
            if let budget = heap.budget, let usage = heap.usage {
                text += ", budget \(ByteCount(budget)), used \(ByteCount(usage))"
            } else {
                text += ", no VK_EXT_memory_budget"
            }
            rows.append(("heap \(index)", text))
        }
        rows += [
            ("fp16 arithmetic", Self.yes(features.float16Arithmetic)),
            ("16-bit storage", Self.yes(features.storage16Bit)),
            ("int8 arithmetic", Self.yes(features.int8Arithmetic)),
            ("subgroup size", "\(features.subgroupSize) (\(features.minSubgroupSize)–\(features.maxSubgroupSize)"
                + "\(features.subgroupSizeControl ? ", size control" : ""))"),
            ("cooperative matrix", features.cooperativeMatrix
                ? features.cooperativeMatrixShapes.joined(separator: ", ") : "no"),
            ("shared memory", "\(ByteCount(UInt64(features.maxSharedMemory)))"),
            ("max storage buffer", "\(ByteCount(features.maxStorageBufferRange))"),
            ("max allocation", "\(ByteCount(features.maxMemoryAllocationSize))"),
            ("timestamps", Self.yes(features.timestamps)),
        ]
        let marker = selected ? "  (selected)" : ""
        let width = rows.map(\.0.count).max() ?? 0
        let body = rows.map { "  \($0.0.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.1)" }
        return (["[\(index)] \(name)\(marker)"] + body).joined(separator: "\n") + "\n"
    }

    private static func yes(_ flag: Bool) -> String { flag ? "yes" : "no" }
}
