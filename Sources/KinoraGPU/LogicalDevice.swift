import CVulkan

/// The `VkDevice` and its queue, shared by every object created from it and destroyed after the last of them.
final class LogicalDevice: @unchecked Sendable {
    let instance: VulkanInstance
    let physical: PhysicalDevice
    let handle: VkDevice
    let queue: VkQueue
    let queueFamily: UInt32
    let vk: KvkFunctions

    init(physical: PhysicalDevice) throws {
        guard let family = physical.computeQueueFamily else {
            throw GPUError.noDevice("\(physical.name) has no compute queue")
        }
        var capabilities = physical.capabilities
        // Enable only what the device reports; cooperative matrix only where the tier will use it.
        capabilities.cooperativeMatrix = physical.features.cooperativeMatrix
        var device: VkDevice?
        try VulkanResult.check(kvk_create_device(physical.handle, family, &capabilities, &device), "vkCreateDevice")
        guard let device else { throw GPUError.vulkan(call: "vkCreateDevice", result: VK_ERROR_UNKNOWN.rawValue) }
        instance = physical.instance
        self.physical = physical
        handle = device
        queueFamily = family
        vk = physical.instance.vk
        var queue: VkQueue?
        vk.vkGetDeviceQueue(device, family, 0, &queue)
        guard let queue else {
            vk.vkDestroyDevice(device, nil)
            throw GPUError.vulkan(call: "vkGetDeviceQueue", result: VK_ERROR_UNKNOWN.rawValue)
        }
        self.queue = queue
    }

    deinit {
        _ = vk.vkDeviceWaitIdle(handle)
        vk.vkDestroyDevice(handle, nil)
    }
}
