// Vulkan for Kinora: the official headers without prototypes, and a function table filled at run time.
//
// libvulkan is opened with dlopen, so a machine without a Vulkan loader gets an error message from
// kvk_load() instead of a dynamic-link failure at start-up. Structures that need long pNext chains
// (feature and property queries, device creation) are built here in C, where that is natural.
#ifndef KINORA_CVULKAN_H
#define KINORA_CVULKAN_H

#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>
#include <stdbool.h>
#include <stdint.h>

// VK_KHR_cooperative_matrix arrived in Vulkan headers 1.3.255; Debian 12 ships 1.3.239. These declarations
// follow the registry so the extension can be queried with older headers.
#ifndef VK_KHR_cooperative_matrix
#define VK_KHR_cooperative_matrix 1
#define VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME "VK_KHR_cooperative_matrix"
#define VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR ((VkStructureType)1000506000)
#define VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR ((VkStructureType)1000506001)
typedef enum VkComponentTypeKHR {
    VK_COMPONENT_TYPE_FLOAT16_KHR = 0,
    VK_COMPONENT_TYPE_FLOAT32_KHR = 1,
    VK_COMPONENT_TYPE_FLOAT64_KHR = 2,
    VK_COMPONENT_TYPE_SINT8_KHR = 3,
    VK_COMPONENT_TYPE_SINT16_KHR = 4,
    VK_COMPONENT_TYPE_SINT32_KHR = 5,
    VK_COMPONENT_TYPE_SINT64_KHR = 6,
    VK_COMPONENT_TYPE_UINT8_KHR = 7,
    VK_COMPONENT_TYPE_UINT16_KHR = 8,
    VK_COMPONENT_TYPE_UINT32_KHR = 9,
    VK_COMPONENT_TYPE_UINT64_KHR = 10,
    VK_COMPONENT_TYPE_MAX_ENUM_KHR = 0x7FFFFFFF
} VkComponentTypeKHR;
typedef enum VkScopeKHR {
    VK_SCOPE_DEVICE_KHR = 1,
    VK_SCOPE_WORKGROUP_KHR = 2,
    VK_SCOPE_SUBGROUP_KHR = 3,
    VK_SCOPE_QUEUE_FAMILY_KHR = 5,
    VK_SCOPE_MAX_ENUM_KHR = 0x7FFFFFFF
} VkScopeKHR;
typedef struct VkCooperativeMatrixPropertiesKHR {
    VkStructureType sType;
    void *pNext;
    uint32_t MSize;
    uint32_t NSize;
    uint32_t KSize;
    VkComponentTypeKHR AType;
    VkComponentTypeKHR BType;
    VkComponentTypeKHR CType;
    VkComponentTypeKHR ResultType;
    VkBool32 saturatingAccumulation;
    VkScopeKHR scope;
} VkCooperativeMatrixPropertiesKHR;
typedef struct VkPhysicalDeviceCooperativeMatrixFeaturesKHR {
    VkStructureType sType;
    void *pNext;
    VkBool32 cooperativeMatrix;
    VkBool32 cooperativeMatrixRobustBufferAccess;
} VkPhysicalDeviceCooperativeMatrixFeaturesKHR;
typedef VkResult(VKAPI_PTR *PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)(
    VkPhysicalDevice physicalDevice, uint32_t *pPropertyCount, VkCooperativeMatrixPropertiesKHR *pProperties);
#endif

#define KVK_GLOBAL_FUNCTIONS(X) \
    X(vkCreateInstance) \
    X(vkEnumerateInstanceLayerProperties) \
    X(vkEnumerateInstanceExtensionProperties) \
    X(vkEnumerateInstanceVersion)

#define KVK_INSTANCE_FUNCTIONS(X) \
    X(vkDestroyInstance) \
    X(vkEnumeratePhysicalDevices) \
    X(vkGetPhysicalDeviceProperties) \
    X(vkGetPhysicalDeviceProperties2) \
    X(vkGetPhysicalDeviceFeatures2) \
    X(vkGetPhysicalDeviceMemoryProperties) \
    X(vkGetPhysicalDeviceMemoryProperties2) \
    X(vkGetPhysicalDeviceQueueFamilyProperties) \
    X(vkEnumerateDeviceExtensionProperties) \
    X(vkCreateDevice) \
    X(vkGetDeviceProcAddr)

#define KVK_OPTIONAL_INSTANCE_FUNCTIONS(X) \
    X(vkCreateDebugUtilsMessengerEXT) \
    X(vkDestroyDebugUtilsMessengerEXT) \
    X(vkSubmitDebugUtilsMessageEXT) \
    X(vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR)

#define KVK_DEVICE_FUNCTIONS(X) \
    X(vkDestroyDevice) \
    X(vkGetDeviceQueue) \
    X(vkDeviceWaitIdle) \
    X(vkAllocateMemory) \
    X(vkFreeMemory) \
    X(vkMapMemory) \
    X(vkUnmapMemory) \
    X(vkCreateBuffer) \
    X(vkDestroyBuffer) \
    X(vkGetBufferMemoryRequirements) \
    X(vkBindBufferMemory) \
    X(vkCreateShaderModule) \
    X(vkDestroyShaderModule) \
    X(vkCreateDescriptorSetLayout) \
    X(vkDestroyDescriptorSetLayout) \
    X(vkCreatePipelineLayout) \
    X(vkDestroyPipelineLayout) \
    X(vkCreateComputePipelines) \
    X(vkCreatePipelineCache) \
    X(vkDestroyPipelineCache) \
    X(vkGetPipelineCacheData) \
    X(vkDestroyPipeline) \
    X(vkCreateDescriptorPool) \
    X(vkDestroyDescriptorPool) \
    X(vkResetDescriptorPool) \
    X(vkAllocateDescriptorSets) \
    X(vkUpdateDescriptorSets) \
    X(vkCreateCommandPool) \
    X(vkDestroyCommandPool) \
    X(vkResetCommandPool) \
    X(vkAllocateCommandBuffers) \
    X(vkFreeCommandBuffers) \
    X(vkBeginCommandBuffer) \
    X(vkEndCommandBuffer) \
    X(vkResetCommandBuffer) \
    X(vkCmdBindPipeline) \
    X(vkCmdBindDescriptorSets) \
    X(vkCmdPushConstants) \
    X(vkCmdDispatch) \
    X(vkCmdPipelineBarrier) \
    X(vkCmdCopyBuffer) \
    X(vkCmdFillBuffer) \
    X(vkCmdResetQueryPool) \
    X(vkCmdWriteTimestamp) \
    X(vkCreateQueryPool) \
    X(vkDestroyQueryPool) \
    X(vkGetQueryPoolResults) \
    X(vkCreateFence) \
    X(vkDestroyFence) \
    X(vkResetFences) \
    X(vkWaitForFences) \
    X(vkGetFenceStatus) \
    X(vkQueueSubmit) \
    X(vkQueueWaitIdle)

/// Every Vulkan entry point Kinora calls. Optional ones are NULL when the driver lacks them.
typedef struct KvkFunctions {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
#define KVK_FIELD(name) PFN_##name name;
    KVK_GLOBAL_FUNCTIONS(KVK_FIELD)
    KVK_INSTANCE_FUNCTIONS(KVK_FIELD)
    KVK_OPTIONAL_INSTANCE_FUNCTIONS(KVK_FIELD)
    KVK_DEVICE_FUNCTIONS(KVK_FIELD)
#undef KVK_FIELD
} KvkFunctions;

/// Opens the Vulkan loader and resolves the global functions. Returns NULL on success, or a static
/// message that says what failed. Safe to call more than once.
const char *kvk_load(void);

/// Resolves instance-level functions (and device-level ones through vkGetInstanceProcAddr). Returns NULL
/// on success or the name of the first missing required function.
const char *kvk_load_instance(VkInstance instance);

/// The function table; valid after kvk_load (global part) and kvk_load_instance (the rest).
const KvkFunctions *kvk_functions(void);

/// Capabilities of a physical device that need pNext chains to query.
typedef struct KvkDeviceCapabilities {
    bool storageBuffer16BitAccess;
    bool storageBuffer8BitAccess;
    bool shaderFloat16;
    bool shaderInt8;
    bool shaderInt16;
    bool subgroupSizeControl;
    bool computeFullSubgroups;
    bool cooperativeMatrix;
    /// VkPhysicalDeviceVulkan12Features::vulkanMemoryModel, which the cooperative-matrix kernels' SPIR-V declares
    /// (glslang emits the VulkanMemoryModel capability for GL_KHR_cooperative_matrix).
    bool vulkanMemoryModel;
    bool memoryBudget;
    bool maintenance4;
    uint32_t subgroupSize;
    uint32_t minSubgroupSize;
    uint32_t maxSubgroupSize;
    /// VkPhysicalDeviceSubgroupSizeControlProperties::requiredSubgroupSizeStages (0 below Vulkan 1.3).
    uint32_t requiredSubgroupSizeStages;
    uint32_t subgroupSupportedOperations;
    VkDriverId driverID;
    char driverName[VK_MAX_DRIVER_NAME_SIZE];
    char driverInfo[VK_MAX_DRIVER_INFO_SIZE];
    /// Heap budgets and usage from VK_EXT_memory_budget; zero when the extension is absent.
    VkDeviceSize heapBudget[VK_MAX_MEMORY_HEAPS];
    VkDeviceSize heapUsage[VK_MAX_MEMORY_HEAPS];
} KvkDeviceCapabilities;

/// Fills `out` for `device`. `memoryBudget` and `cooperativeMatrix` reflect extension availability.
void kvk_query_capabilities(VkPhysicalDevice device, KvkDeviceCapabilities *out);

/// Re-reads the memory budget and usage of each heap (VK_EXT_memory_budget). Returns false without it.
bool kvk_query_memory_budget(VkPhysicalDevice device, VkDeviceSize *budget, VkDeviceSize *usage);

/// One cooperative-matrix shape reported by the device (subgroup scope).
typedef struct KvkCooperativeMatrixShape {
    uint32_t m, n, k;
    VkComponentTypeKHR aType, bType, cType, resultType;
    VkScopeKHR scope;
} KvkCooperativeMatrixShape;

/// Writes up to `capacity` shapes and returns how many the device reports (0 without the extension).
uint32_t kvk_cooperative_matrix_shapes(VkPhysicalDevice device, KvkCooperativeMatrixShape *out, uint32_t capacity);

/// Creates a logical device with one compute queue of `queueFamily` and the features Kinora uses
/// that the device has (16-bit storage, float16/int8 arithmetic, subgroup size control,
/// cooperative matrix, memory budget). Returns the VkResult of vkCreateDevice.
VkResult kvk_create_device(VkPhysicalDevice physical, uint32_t queueFamily, const KvkDeviceCapabilities *caps,
                           VkDevice *device);

/// Sends `message` through the debug-utils messengers as a validation error (used to test the message path).
void kvk_submit_debug_message(VkInstance instance, const char *message);

/// Debug-utils callback that forwards validation messages to a Swift closure context.
typedef void (*KvkMessageSink)(void *context, int severity, const char *message);

/// Creates an instance with the given layers, and when `sink` is set, a debug-utils messenger that calls
/// `sink(context, severity, message)` for each warning or error. `messenger` may be NULL when `sink` is.
VkResult kvk_create_instance(const char *applicationName, const char *const *layers, uint32_t layerCount,
                             bool enablePortability, KvkMessageSink sink, void *context, VkInstance *instance,
                             VkDebugUtilsMessengerEXT *messenger);

#endif
