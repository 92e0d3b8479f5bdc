import Foundation

/// How to choose the device to run on: discrete > integrated > virtual > CPU, unless the user names one.
public struct DeviceSelection: Sendable, Equatable {
    /// A device index, or a case-insensitive substring of the device name (`llvmpipe`, `4090`, `cpu`).
    public var request: String?

    public init(request: String? = nil) { self.request = request }

    /// The request from `--device`, falling back to the environment variable `KINORA_DEVICE`.
    public static func fromEnvironment(overriding request: String? = nil) -> DeviceSelection {
        DeviceSelection(request: request ?? ProcessInfo.processInfo.environment["KINORA_DEVICE"])
    }

    /// Picks a device from `devices`, or throws `GPUError.noDevice` with the list of what exists.
    public func choose(from devices: [PhysicalDevice]) throws -> PhysicalDevice {
        let usable = devices.filter { $0.computeQueueFamily != nil && $0.features.storage16Bit }
        guard !usable.isEmpty else {
            let found = devices.isEmpty ? "the Vulkan loader reports no devices" :
                "found \(devices.map(\.name).joined(separator: ", ")) but none has a compute queue with "
                    + "16-bit storage"
            throw GPUError.noDevice(found + "; install a Vulkan driver (Debian: mesa-vulkan-drivers for the CPU "
                + "driver lavapipe, or your GPU vendor's driver)")
        }
        guard let request, !request.isEmpty else {
            return usable.min { lhs, rhs in
                lhs.kind == rhs.kind ? lhs.index < rhs.index : lhs.kind < rhs.kind
            }!
        }
        if let index = Int(request) {
            guard let device = usable.first(where: { $0.index == index }) else {
                throw GPUError.noDevice("no device with index \(index); available: \(Self.list(usable))")
            }
            return device
        }
        let needle = request.lowercased()
        if needle == "cpu", let cpu = usable.first(where: { $0.kind == .cpu }) { return cpu }
        guard let device = usable.first(where: { $0.name.lowercased().contains(needle) }) else {
            throw GPUError.noDevice("no device matches '\(request)'; available: \(Self.list(usable))")
        }
        return device
    }

    private static func list(_ devices: [PhysicalDevice]) -> String {
        devices.map { "\($0.index): \($0.name) (\($0.kind.rawValue))" }.joined(separator: ", ")
    }
}
