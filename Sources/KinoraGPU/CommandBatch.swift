import CVulkan

/// One command buffer with its descriptor pool, fence and timestamp queries, reused after it completes.
final class CommandBatch {
    private let device: GPUDevice
    private let capacity: Int
    private let pool: VkCommandPool
    private let commandBuffer: VkCommandBuffer
    private let descriptorPool: VkDescriptorPool
    private let fence: VkFence
    private let queryPool: VkQueryPool?
    private var retained: [GPUBuffer] = []
    private var labels: [String] = []
    private var kernels: [String] = []
    private var submitted = false
    private var timestamped = false
    private(set) var dispatches = 0
    var work = 0.0

    init(device: GPUDevice, capacity: Int) throws {
        self.device = device
        self.capacity = capacity
        let vk = device.logical.vk
        let handle = device.logical.handle

        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.queueFamilyIndex = device.logical.queueFamily
        poolInfo.flags = UInt32(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue)
        var pool: VkCommandPool?
        try VulkanResult.check(vk.vkCreateCommandPool(handle, &poolInfo, nil, &pool), "vkCreateCommandPool")
        self.pool = pool!

        var allocateInfo = VkCommandBufferAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocateInfo.commandPool = pool
        allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocateInfo.commandBufferCount = 1
        var commandBuffer: VkCommandBuffer?
        try VulkanResult.check(vk.vkAllocateCommandBuffers(handle, &allocateInfo, &commandBuffer),
                               "vkAllocateCommandBuffers")
        self.commandBuffer = commandBuffer!

        var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                        descriptorCount: UInt32(capacity * PipelineCache.maxBindings))
        var descriptorInfo = VkDescriptorPoolCreateInfo()
        descriptorInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        descriptorInfo.maxSets = UInt32(capacity)
        descriptorInfo.poolSizeCount = 1
        var descriptorPool: VkDescriptorPool?
        let descriptorResult = withUnsafePointer(to: &size) { sizePointer in
            descriptorInfo.pPoolSizes = sizePointer
            return vk.vkCreateDescriptorPool(handle, &descriptorInfo, nil, &descriptorPool)
        }
        try VulkanResult.check(descriptorResult, "vkCreateDescriptorPool")
        self.descriptorPool = descriptorPool!

        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        try VulkanResult.check(vk.vkCreateFence(handle, &fenceInfo, nil, &fence), "vkCreateFence")
        self.fence = fence!

        if device.physical.features.timestamps {
            var queryInfo = VkQueryPoolCreateInfo()
            queryInfo.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
            queryInfo.queryType = VK_QUERY_TYPE_TIMESTAMP
            queryInfo.queryCount = UInt32(2 * capacity)
            var queryPool: VkQueryPool?
            try VulkanResult.check(vk.vkCreateQueryPool(handle, &queryInfo, nil, &queryPool), "vkCreateQueryPool")
            self.queryPool = queryPool
        } else {
            queryPool = nil
        }
    }

    deinit {
        let vk = device.logical.vk
        let handle = device.logical.handle
        if submitted { wait() }
        if let queryPool { vk.vkDestroyQueryPool(handle, queryPool, nil) }
        vk.vkDestroyFence(handle, fence, nil)
        vk.vkDestroyDescriptorPool(handle, descriptorPool, nil)
        vk.vkDestroyCommandPool(handle, pool, nil)
    }

    func begin(timestamps: Bool) throws {
        let vk = device.logical.vk
        try VulkanResult.check(vk.vkResetDescriptorPool(device.logical.handle, descriptorPool, 0),
                               "vkResetDescriptorPool")
        try VulkanResult.check(vk.vkResetCommandBuffer(commandBuffer, 0), "vkResetCommandBuffer")
        var info = VkCommandBufferBeginInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        info.flags = UInt32(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue)
        try VulkanResult.check(vk.vkBeginCommandBuffer(commandBuffer, &info), "vkBeginCommandBuffer")
        timestamped = timestamps && queryPool != nil
        if timestamped, let queryPool {
            vk.vkCmdResetQueryPool(commandBuffer, queryPool, 0, UInt32(2 * capacity))
        }
        dispatches = 0
        work = 0
        labels.removeAll()
        kernels.removeAll()
    }

    func recordBarrier() {
        var barrier = VkMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        barrier.srcAccessMask = UInt32(VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)
        barrier.dstAccessMask = UInt32(VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
            | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)
        let stages = UInt32(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue)
        device.logical.vk.vkCmdPipelineBarrier(commandBuffer, stages, stages, 0, 1, &barrier, 0, nil, 0, nil)
    }

    func recordDispatch(_ pipeline: ComputePipeline, bindings: [BufferBinding], pushConstants: [UInt32],
                        groups: (x: UInt32, y: UInt32, z: UInt32), layout: PipelineCache, label: String) throws {
        let vk = device.logical.vk
        var setLayout: VkDescriptorSetLayout? = layout.setLayout
        var allocateInfo = VkDescriptorSetAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
        allocateInfo.descriptorPool = descriptorPool
        allocateInfo.descriptorSetCount = 1
        var set: VkDescriptorSet?
        let result = withUnsafePointer(to: &setLayout) { layoutPointer in
            allocateInfo.pSetLayouts = layoutPointer
            return vk.vkAllocateDescriptorSets(device.logical.handle, &allocateInfo, &set)
        }
        try VulkanResult.check(result, "vkAllocateDescriptorSets")

        var infos = bindings.map { binding in
            VkDescriptorBufferInfo(buffer: binding.buffer.vkBuffer, offset: binding.buffer.offset + binding.offset,
                                   range: binding.length)
        }
        infos.withUnsafeMutableBufferPointer { infoPointer in
            var writes = (0..<infoPointer.count).map { index -> VkWriteDescriptorSet in
                var write = VkWriteDescriptorSet()
                write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                write.dstSet = set
                write.dstBinding = UInt32(index)
                write.descriptorCount = 1
                write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                write.pBufferInfo = UnsafePointer(infoPointer.baseAddress! + index)
                return write
            }
            vk.vkUpdateDescriptorSets(device.logical.handle, UInt32(writes.count), &writes, 0, nil)
        }
        retained += bindings.map(\.buffer)

        vk.vkCmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle)
        vk.vkCmdBindDescriptorSets(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, layout.layout, 0, 1, &set, 0, nil)
        if !pushConstants.isEmpty {
            pushConstants.withUnsafeBytes { bytes in
                vk.vkCmdPushConstants(commandBuffer, layout.layout, UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue), 0,
                                      UInt32(bytes.count), bytes.baseAddress)
            }
        }
        let stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
        if timestamped, let queryPool {
            vk.vkCmdWriteTimestamp(commandBuffer, stage, queryPool, UInt32(2 * dispatches))
        }
        vk.vkCmdDispatch(commandBuffer, groups.x, groups.y, groups.z)
        if timestamped, let queryPool {
            vk.vkCmdWriteTimestamp(commandBuffer, stage, queryPool, UInt32(2 * dispatches + 1))
        }
        labels.append(label.isEmpty ? pipeline.shader : label)
        kernels.append(pipeline.shader)
        dispatches += 1
    }

    func recordCopy(from source: GPUBuffer, to destination: GPUBuffer, bytes: UInt64, sourceOffset: UInt64,
                    destinationOffset: UInt64) {
        var region = VkBufferCopy(srcOffset: source.offset + sourceOffset,
                                  dstOffset: destination.offset + destinationOffset, size: bytes)
        device.logical.vk.vkCmdCopyBuffer(commandBuffer, source.vkBuffer, destination.vkBuffer, 1, &region)
        retained += [source, destination]
    }

    func submit(to queue: VkQueue) throws {
        let vk = device.logical.vk
        try VulkanResult.check(vk.vkEndCommandBuffer(commandBuffer), "vkEndCommandBuffer")
        try VulkanResult.check(vk.vkResetFences(device.logical.handle, 1, [fence]), "vkResetFences")
        var info = VkSubmitInfo()
        info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
        info.commandBufferCount = 1
        var buffer: VkCommandBuffer? = commandBuffer
        let result = withUnsafePointer(to: &buffer) { pointer in
            info.pCommandBuffers = pointer
            return vk.vkQueueSubmit(queue, 1, &info, fence)
        }
        try VulkanResult.check(result, "vkQueueSubmit")
        submitted = true
    }

    /// Waits for the fence, reporting device loss as an error.
    func waitChecked() throws {
        guard submitted else { return }
        let result = device.logical.vk.vkWaitForFences(device.logical.handle, 1, [fence], VkBool32(VK_TRUE),
                                                        UInt64.max)
        submitted = false
        try VulkanResult.check(result, "vkWaitForFences")
    }

    func wait() {
        try? waitChecked()
    }

    /// Drops the references that kept this batch's buffers alive while the GPU used them.
    func release() {
        retained.removeAll()
    }

    func timings(periodNanoseconds: Double) -> [DispatchTiming] {
        guard timestamped, let queryPool, dispatches > 0 else { return [] }
        var values = [UInt64](repeating: 0, count: 2 * dispatches)
        let result = values.withUnsafeMutableBytes { bytes in
            device.logical.vk.vkGetQueryPoolResults(device.logical.handle, queryPool, 0, UInt32(2 * dispatches),
                                                    bytes.count, bytes.baseAddress, 8,
                                                    UInt32(VK_QUERY_RESULT_64_BIT.rawValue))
        }
        guard result == VK_SUCCESS else { return [] }
        return (0..<dispatches).map { index in
            let ticks = values[2 * index + 1] &- values[2 * index]
            return DispatchTiming(label: labels[index], kernel: kernels[index],
                                  nanoseconds: Double(ticks) * periodNanoseconds)
        }
    }
}
