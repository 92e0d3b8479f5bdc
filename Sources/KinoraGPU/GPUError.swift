import Foundation
import CVulkan

/// Errors from the Vulkan backend, with messages a user can act on.
public enum GPUError: Error, CustomStringConvertible, Equatable {
    /// The Vulkan loader could not be opened or is unusable.
    case loaderUnavailable(String)
    /// The loader works but no Vulkan device is present (or none matches the request).
    case noDevice(String)
    /// A Vulkan call returned an error code.
    case vulkan(call: String, result: Int32)
    /// An allocation would exceed the memory budget.
    case outOfMemory(requested: UInt64, available: UInt64, budget: UInt64)
    /// A single buffer larger than the device can bind in one descriptor.
    case bufferTooLarge(requested: UInt64, limit: UInt64)
    /// No embedded SPIR-V of that name.
    case shaderNotFound(String)
    /// A caller passed something the backend cannot do.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .loaderUnavailable(let reason):
            return "Vulkan is not available: \(reason)"
        case .noDevice(let reason):
            return "no usable Vulkan device: \(reason)"
        case .vulkan(let call, let result):
            return "\(call) failed with \(VulkanResult.name(result)) (\(result))"
        case .outOfMemory(let requested, let available, let budget):
            return "out of device memory: requested \(ByteCount(requested)), available \(ByteCount(available)) "
                + "of a \(ByteCount(budget)) budget"
        case .bufferTooLarge(let requested, let limit):
            return "a single buffer of \(ByteCount(requested)) exceeds the device limit of \(ByteCount(limit)) "
                + "(maxStorageBufferRange / maxMemoryAllocationSize); the operation must be split"
        case .shaderNotFound(let name):
            return "no compiled shader named '\(name)' is embedded in this build"
        case .invalidArgument(let message):
            return message
        }
    }
}

/// Names of Vulkan result codes, for messages.
enum VulkanResult {
    static func name(_ code: Int32) -> String {
        switch code {
        case VK_SUCCESS.rawValue: return "VK_SUCCESS"
        case VK_NOT_READY.rawValue: return "VK_NOT_READY"
        case VK_TIMEOUT.rawValue: return "VK_TIMEOUT"
        case VK_INCOMPLETE.rawValue: return "VK_INCOMPLETE"
        case VK_ERROR_OUT_OF_HOST_MEMORY.rawValue: return "VK_ERROR_OUT_OF_HOST_MEMORY"
        case VK_ERROR_OUT_OF_DEVICE_MEMORY.rawValue: return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
        case VK_ERROR_INITIALIZATION_FAILED.rawValue: return "VK_ERROR_INITIALIZATION_FAILED"
        case VK_ERROR_DEVICE_LOST.rawValue: return "VK_ERROR_DEVICE_LOST"
        case VK_ERROR_MEMORY_MAP_FAILED.rawValue: return "VK_ERROR_MEMORY_MAP_FAILED"
        case VK_ERROR_LAYER_NOT_PRESENT.rawValue: return "VK_ERROR_LAYER_NOT_PRESENT"
        case VK_ERROR_EXTENSION_NOT_PRESENT.rawValue: return "VK_ERROR_EXTENSION_NOT_PRESENT"
        case VK_ERROR_FEATURE_NOT_PRESENT.rawValue: return "VK_ERROR_FEATURE_NOT_PRESENT"
        case VK_ERROR_INCOMPATIBLE_DRIVER.rawValue: return "VK_ERROR_INCOMPATIBLE_DRIVER"
        case VK_ERROR_TOO_MANY_OBJECTS.rawValue: return "VK_ERROR_TOO_MANY_OBJECTS"
        case VK_ERROR_OUT_OF_POOL_MEMORY.rawValue: return "VK_ERROR_OUT_OF_POOL_MEMORY"
        default: return "VkResult"
        }
    }

    /// Throws `GPUError.vulkan` (or `.outOfMemory` for device memory exhaustion) unless `result` is success.
    static func check(_ result: VkResult, _ call: String) throws {
        guard result != VK_SUCCESS else { return }
        throw GPUError.vulkan(call: call, result: result.rawValue)
    }
}

/// A byte count printed with a binary unit.
public struct ByteCount: CustomStringConvertible, Sendable {
    public var bytes: UInt64
    public init(_ bytes: UInt64) { self.bytes = bytes }
    public init(_ bytes: Int) { self.bytes = UInt64(max(0, bytes)) }

    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.2f %@", value, units[unit])
    }

    /// Parses sizes such as `6GB`, `512MiB`, `1.5G` or a plain byte count (binary units).
    public static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let number = Double(digits), number >= 0 else { return nil }
        let suffix = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let scale: Double
        switch suffix {
        case "", "b": scale = 1
        case "k", "kb", "kib": scale = 1024
        case "m", "mb", "mib": scale = 1024 * 1024
        case "g", "gb", "gib": scale = 1024 * 1024 * 1024
        case "t", "tb", "tib": scale = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        return UInt64(number * scale)
    }
}
