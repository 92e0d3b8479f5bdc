import CVulkan
import Foundation

/// A compiled compute pipeline: one shader variant with its specialization constants.
///
/// Every pipeline shares one layout: `PipelineCache.maxBindings` storage buffers in set 0 and
/// `PipelineCache.pushConstantBytes` bytes of push constants. Constant ids 0, 1, 2 are the workgroup size.
public final class ComputePipeline: @unchecked Sendable {
    /// The shader variant's name, as in `ShaderLibrary`.
    public let shader: String
    public let specialization: [UInt32]
    let handle: VkPipeline
    private let device: LogicalDevice

    init(device: LogicalDevice, shader: String, specialization: [UInt32], handle: VkPipeline) {
        self.device = device
        self.shader = shader
        self.specialization = specialization
        self.handle = handle
    }

    deinit { device.vk.vkDestroyPipeline(device.handle, handle, nil) }
}

/// Creates pipelines lazily, on first use, and keeps them keyed by (shader, specialization constants).
public final class PipelineCache: @unchecked Sendable {
    /// Storage-buffer bindings in the shared descriptor-set layout.
    public static let maxBindings = 8
    /// Push-constant bytes every pipeline may use (the Vulkan minimum guarantee).
    public static let pushConstantBytes = 128

    private struct Key: Hashable {
        var shader: String
        var specialization: [UInt32]
        var subgroupSize: UInt32?
    }

    let setLayout: VkDescriptorSetLayout
    let layout: VkPipelineLayout
    private let device: LogicalDevice
    private let source: @Sendable (String) -> [UInt32]?
    private let lock = NSLock()
    private var pipelines: [Key: ComputePipeline] = [:]
    /// The driver's cache of compiled pipelines, loaded from and saved to `file`.
    private let driverCache: VkPipelineCache?
    /// Where the driver's cache persists between runs; nil keeps it in memory only.
    public let file: PipelineCacheFile?
    /// Bytes of the driver's data loaded from `file` (0: none, or ignored).
    public let loadedBytes: Int
    /// Why `file` was not used, when it was there but damaged or foreign (it is rewritten on save).
    public let ignoredFile: String?
    /// Pipelines created since the cache was loaded or saved.
    private var unsaved = 0

    init(device: LogicalDevice, source: @escaping @Sendable (String) -> [UInt32]?, file: PipelineCacheFile? = nil)
        throws
    {
        self.device = device
        self.source = source
        self.file = file
        let vk = device.vk
        let loaded: (data: [UInt8]?, ignored: String?) = file?.load() ?? (nil, nil)
        var driverCache: VkPipelineCache?
        var cacheResult = (loaded.data ?? []).withUnsafeBytes { data in
            var info = VkPipelineCacheCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO
            info.initialDataSize = data.count
            info.pInitialData = data.count > 0 ? data.baseAddress : nil
            return vk.vkCreatePipelineCache(device.handle, &info, nil, &driverCache)
        }
        var ignored = loaded.ignored
        if cacheResult != VK_SUCCESS, loaded.data != nil {
            // The driver refused the data: start empty.
            ignored = "the driver refused \(file?.url.path ?? "the cache") (\(cacheResult.rawValue))"
            var info = VkPipelineCacheCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO
            cacheResult = vk.vkCreatePipelineCache(device.handle, &info, nil, &driverCache)
        }
        try VulkanResult.check(cacheResult, "vkCreatePipelineCache")
        self.driverCache = driverCache
        loadedBytes = ignored == nil ? loaded.data?.count ?? 0 : 0
        ignoredFile = ignored
        var bindings = (0..<Self.maxBindings).map { index -> VkDescriptorSetLayoutBinding in
            var binding = VkDescriptorSetLayoutBinding()
            binding.binding = UInt32(index)
            binding.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            binding.descriptorCount = 1
            binding.stageFlags = UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue)
            return binding
        }
        var setLayout: VkDescriptorSetLayout?
        let setResult = bindings.withUnsafeMutableBufferPointer { pointer in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = UInt32(pointer.count)
            info.pBindings = UnsafePointer(pointer.baseAddress)
            return vk.vkCreateDescriptorSetLayout(device.handle, &info, nil, &setLayout)
        }
        try VulkanResult.check(setResult, "vkCreateDescriptorSetLayout")
        guard let setLayout else {
            throw GPUError.vulkan(call: "vkCreateDescriptorSetLayout", result: VK_ERROR_UNKNOWN.rawValue)
        }
        var range = VkPushConstantRange()
        range.stageFlags = UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue)
        range.size = UInt32(Self.pushConstantBytes)
        var layout: VkPipelineLayout?
        var setLayouts: [VkDescriptorSetLayout?] = [setLayout]
        var info = VkPipelineLayoutCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
        info.setLayoutCount = 1
        info.pushConstantRangeCount = 1
        let layoutResult = setLayouts.withUnsafeMutableBufferPointer { sets in
            withUnsafePointer(to: &range) { rangePointer in
                info.pSetLayouts = UnsafePointer(sets.baseAddress)
                info.pPushConstantRanges = rangePointer
                return vk.vkCreatePipelineLayout(device.handle, &info, nil, &layout)
            }
        }
        guard layoutResult == VK_SUCCESS, let layout else {
            vk.vkDestroyDescriptorSetLayout(device.handle, setLayout, nil)
            vk.vkDestroyPipelineCache(device.handle, driverCache, nil)
            throw GPUError.vulkan(call: "vkCreatePipelineLayout", result: layoutResult.rawValue)
        }
        self.setLayout = setLayout
        self.layout = layout
    }

    deinit {
        // A cache that cannot be written costs the next run its compile time, nothing else.
        try? save()
        pipelines.removeAll()
        device.vk.vkDestroyPipelineCache(device.handle, driverCache, nil)
        device.vk.vkDestroyPipelineLayout(device.handle, layout, nil)
        device.vk.vkDestroyDescriptorSetLayout(device.handle, setLayout, nil)
    }

    /// Writes the driver's cache to `file` when pipelines were created since it was loaded or last saved (also done
    /// when the device closes).
    public func save() throws {
        guard let file, lock.withLock({ unsaved > 0 }) else { return }
        let vk = device.vk
        var size = 0
        try VulkanResult.check(
            vk.vkGetPipelineCacheData(device.handle, driverCache, &size, nil), "vkGetPipelineCacheData")
        var data = [UInt8](repeating: 0, count: size)
        let result = data.withUnsafeMutableBytes {
            vk.vkGetPipelineCacheData(device.handle, driverCache, &size, $0.baseAddress)
        }
        try VulkanResult.check(result, "vkGetPipelineCacheData")
        try file.save(Array(data.prefix(size)))
        lock.withLock { unsaved = 0 }
    }

    /// The number of pipelines created so far.
    public var count: Int { lock.withLock { pipelines.count } }

    /// The pipeline for `shader` with `specialization` (constant id i gets element i), created on first request.
    /// `subgroupSize`, for a kernel that deals its work to subgroups of that size (the tensor-core kernels), is
    /// required of the driver, which may otherwise pick another (Intel's vary; AMD's run wave32 or wave64); where the
    /// device cannot fix it and its sizes vary, creating the pipeline fails, saying so.
    public func pipeline(_ shader: String, specialization: [UInt32], subgroupSize: UInt32? = nil) throws
        -> ComputePipeline {
        let key = Key(shader: shader, specialization: specialization, subgroupSize: subgroupSize)
        if let cached = lock.withLock({ pipelines[key] }) { return cached }
        let pipeline = try create(shader: shader, specialization: specialization, subgroupSize: subgroupSize)
        return lock.withLock {
            if let raced = pipelines[key] { return raced }
            pipelines[key] = pipeline
            unsaved += 1
            return pipeline
        }
    }

    private func create(shader: String, specialization: [UInt32], subgroupSize: UInt32?) throws -> ComputePipeline {
        guard let words = source(shader) else { throw GPUError.shaderNotFound(shader) }
        let features = device.physical.features
        let requiredSize = subgroupSize.flatMap { features.computeSubgroupSizeControl ? $0 : nil }
        if let subgroupSize, requiredSize == nil, features.minSubgroupSize != features.maxSubgroupSize {
            throw GPUError.invalidArgument("\(shader) needs subgroups of \(subgroupSize) invocations, and "
                + "\(device.physical.name) can neither fix its subgroup size nor keeps one "
                + "(\(features.minSubgroupSize)–\(features.maxSubgroupSize))")
        }
        let vk = device.vk
        var module: VkShaderModule?
        let moduleResult = words.withUnsafeBufferPointer { code in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = code.count * 4
            info.pCode = code.baseAddress
            return vk.vkCreateShaderModule(device.handle, &info, nil, &module)
        }
        try VulkanResult.check(moduleResult, "vkCreateShaderModule(\(shader))")
        guard let module else { throw GPUError.vulkan(call: "vkCreateShaderModule", result: VK_ERROR_UNKNOWN.rawValue) }
        defer { vk.vkDestroyShaderModule(device.handle, module, nil) }

        var entries = specialization.indices.map { index in
            VkSpecializationMapEntry(constantID: UInt32(index), offset: UInt32(index * 4), size: 4)
        }
        var values = specialization
        var pipeline: VkPipeline?
        let result = entries.withUnsafeMutableBufferPointer { entryPointer in
            values.withUnsafeMutableBytes { valueBytes in
                var specializationInfo = VkSpecializationInfo()
                specializationInfo.mapEntryCount = UInt32(entryPointer.count)
                specializationInfo.pMapEntries = UnsafePointer(entryPointer.baseAddress)
                specializationInfo.dataSize = valueBytes.count
                specializationInfo.pData = UnsafeRawPointer(valueBytes.baseAddress)
                return withUnsafePointer(to: &specializationInfo) { specializationPointer in
                    "main".withCString { entryName in
                        var required = VkPipelineShaderStageRequiredSubgroupSizeCreateInfo()
                        required.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO
                        required.requiredSubgroupSize = requiredSize ?? 0
                        return withUnsafePointer(to: &required) { requiredPointer in
                            var stage = VkPipelineShaderStageCreateInfo()
                            stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                            stage.pNext = requiredSize == nil ? nil : UnsafeRawPointer(requiredPointer)
                            stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                            stage.module = module
                            stage.pName = entryName
                            stage.pSpecializationInfo = specialization.isEmpty ? nil : specializationPointer
                            var info = VkComputePipelineCreateInfo()
                            info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                            info.stage = stage
                            info.layout = layout
                            return vk.vkCreateComputePipelines(device.handle, driverCache, 1, &info, nil, &pipeline)
                        }
                    }
                }
            }
        }
        try VulkanResult.check(result, "vkCreateComputePipelines(\(shader))")
        guard let pipeline else {
            throw GPUError.vulkan(call: "vkCreateComputePipelines", result: VK_ERROR_UNKNOWN.rawValue)
        }
        return ComputePipeline(device: device, shader: shader, specialization: specialization, handle: pipeline)
    }
}
