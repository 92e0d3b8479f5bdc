import CVulkan
import Foundation

/// The process's connection to Vulkan: the loader, an instance, optional validation, and the physical devices.
public final class VulkanInstance: @unchecked Sendable {
    let handle: VkInstance
    let vk: KvkFunctions
    private var messenger: VkDebugUtilsMessengerEXT?
    /// Messages from the validation layer (empty when validation is off).
    public let validationLog = ValidationLog()
    /// Whether `VK_LAYER_KHRONOS_validation` is enabled on this instance.
    public let validationEnabled: Bool

    /// The name of the Khronos validation layer.
    public static let validationLayerName = "VK_LAYER_KHRONOS_validation"

    /// Creates an instance. Validation is on when `validation` is true, or when it is nil and the environment
    /// variable `KINORA_VALIDATION` is `1`; asking for it when the layer is not installed throws.
    public init(validation: Bool? = nil) throws {
        if let failure = kvk_load() {
            throw GPUError.loaderUnavailable(String(cString: failure))
        }
        let global = kvk_functions().pointee
        let wantsValidation = validation ?? (ProcessInfo.processInfo.environment["KINORA_VALIDATION"] == "1")
        let layers = try Self.availableLayers(global)
        if wantsValidation && !layers.contains(Self.validationLayerName) {
            throw GPUError.loaderUnavailable(
                "validation was requested but \(Self.validationLayerName) is not installed "
                    + "(Debian: apt-get install vulkan-validationlayers)")
        }
        let portability = try Self.availableExtensions(global).contains("VK_KHR_portability_enumeration")
        validationEnabled = wantsValidation

        var instance: VkInstance?
        var messenger: VkDebugUtilsMessengerEXT?
        let context = Unmanaged.passUnretained(validationLog).toOpaque()
        let sink: KvkMessageSink? = wantsValidation
            ? { context, severity, message in
                guard let context, let message else { return }
                Unmanaged<ValidationLog>.fromOpaque(context).takeUnretainedValue()
                    .record(severity: severity, text: String(cString: message))
            }
            : nil
        let layerNames = wantsValidation ? [Self.validationLayerName] : []
        let result = withCStrings(layerNames) { layerPointers in
            kvk_create_instance("kinora", layerPointers, UInt32(layerNames.count), portability, sink, context,
                                &instance, &messenger)
        }
        try VulkanResult.check(result, "vkCreateInstance")
        guard let instance else { throw GPUError.vulkan(call: "vkCreateInstance", result: result.rawValue) }
        handle = instance
        self.messenger = messenger
        vk = kvk_functions().pointee
    }

    deinit {
        if let messenger { vk.vkDestroyDebugUtilsMessengerEXT?(handle, messenger, nil) }
        vk.vkDestroyInstance(handle, nil)
    }

    /// Sends `text` through the debug-utils messenger as a validation error, to prove the message path works.
    func submitDebugMessage(_ text: String) {
        kvk_submit_debug_message(handle, text)
    }

    /// Every physical device, in the order the loader reports them.
    public func physicalDevices() throws -> [PhysicalDevice] {
        var count: UInt32 = 0
        try VulkanResult.check(vk.vkEnumeratePhysicalDevices(handle, &count, nil), "vkEnumeratePhysicalDevices")
        var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try VulkanResult.check(vk.vkEnumeratePhysicalDevices(handle, &count, &handles), "vkEnumeratePhysicalDevices")
        return handles.prefix(Int(count)).enumerated().compactMap { index, device in
            device.map { PhysicalDevice(instance: self, handle: $0, index: index) }
        }
    }

    private static func availableLayers(_ vk: KvkFunctions) throws -> Set<String> {
        var count: UInt32 = 0
        try VulkanResult.check(vk.vkEnumerateInstanceLayerProperties(&count, nil), "vkEnumerateInstanceLayerProperties")
        var properties = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
        try VulkanResult.check(vk.vkEnumerateInstanceLayerProperties(&count, &properties),
                               "vkEnumerateInstanceLayerProperties")
        return Set(properties.prefix(Int(count)).map { fixedString($0.layerName) })
    }

    private static func availableExtensions(_ vk: KvkFunctions) throws -> Set<String> {
        var count: UInt32 = 0
        try VulkanResult.check(vk.vkEnumerateInstanceExtensionProperties(nil, &count, nil),
                               "vkEnumerateInstanceExtensionProperties")
        var properties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        try VulkanResult.check(vk.vkEnumerateInstanceExtensionProperties(nil, &count, &properties),
                               "vkEnumerateInstanceExtensionProperties")
        return Set(properties.prefix(Int(count)).map { fixedString($0.extensionName) })
    }
}

/// Reads a fixed-size C char array (imported as a tuple) as a String.
func fixedString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Calls `body` with a C array of C strings that lives for the duration of the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let duplicated = strings.map { UnsafePointer(strdup($0)) }
    defer { duplicated.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
    return duplicated.withUnsafeBufferPointer { body($0.baseAddress) }
}
