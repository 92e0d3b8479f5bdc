// Run-time loading of libvulkan and the pNext-chain helpers declared in CVulkan.h.
#include "CVulkan.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static KvkFunctions functions;
static void *loader;

const KvkFunctions *kvk_functions(void) { return &functions; }

const char *kvk_load(void) {
    if (loader != NULL) return NULL;
    // KINORA_VULKAN_LOADER names a specific loader library (tests use it to simulate a machine without one).
    const char *override = getenv("KINORA_VULKAN_LOADER");
    if (override != NULL && override[0] != '\0') {
        loader = dlopen(override, RTLD_NOW | RTLD_LOCAL);
        if (loader == NULL) return "the Vulkan loader named by KINORA_VULKAN_LOADER could not be opened";
    }
    const char *names[] = {"libvulkan.so.1", "libvulkan.so", "libvulkan.1.dylib"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && loader == NULL; i++) {
        loader = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (loader == NULL) {
        return "the Vulkan loader (libvulkan.so.1) was not found; install it (Debian: apt-get install libvulkan1 "
               "mesa-vulkan-drivers) or your GPU vendor's Vulkan driver";
    }
    functions.vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(loader, "vkGetInstanceProcAddr");
    if (functions.vkGetInstanceProcAddr == NULL) {
        dlclose(loader);
        loader = NULL;
        return "libvulkan.so.1 has no vkGetInstanceProcAddr symbol; the Vulkan loader is broken";
    }
#define KVK_LOAD_GLOBAL(name) functions.name = (PFN_##name)functions.vkGetInstanceProcAddr(NULL, #name);
    KVK_GLOBAL_FUNCTIONS(KVK_LOAD_GLOBAL)
#undef KVK_LOAD_GLOBAL
    if (functions.vkCreateInstance == NULL) return "the Vulkan loader does not provide vkCreateInstance";
    return NULL;
}

const char *kvk_load_instance(VkInstance instance) {
#define KVK_LOAD_REQUIRED(name) \
    functions.name = (PFN_##name)functions.vkGetInstanceProcAddr(instance, #name); \
    if (functions.name == NULL) return #name;
#define KVK_LOAD_OPTIONAL(name) functions.name = (PFN_##name)functions.vkGetInstanceProcAddr(instance, #name);
    KVK_INSTANCE_FUNCTIONS(KVK_LOAD_REQUIRED)
    KVK_OPTIONAL_INSTANCE_FUNCTIONS(KVK_LOAD_OPTIONAL)
    KVK_DEVICE_FUNCTIONS(KVK_LOAD_REQUIRED)
#undef KVK_LOAD_REQUIRED
#undef KVK_LOAD_OPTIONAL
    return NULL;
}

static bool has_extension(VkPhysicalDevice device, const char *name) {
    uint32_t count = 0;
    functions.vkEnumerateDeviceExtensionProperties(device, NULL, &count, NULL);
    VkExtensionProperties properties[512];
    if (count > 512) count = 512;
    functions.vkEnumerateDeviceExtensionProperties(device, NULL, &count, properties);
    for (uint32_t i = 0; i < count; i++) {
        if (strcmp(properties[i].extensionName, name) == 0) return true;
    }
    return false;
}

#ifndef VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME
#define VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME "VK_KHR_cooperative_matrix"
#endif

void kvk_query_capabilities(VkPhysicalDevice device, KvkDeviceCapabilities *out) {
    memset(out, 0, sizeof(*out));
    VkPhysicalDeviceProperties base;
    functions.vkGetPhysicalDeviceProperties(device, &base);
    bool vulkan13 = base.apiVersion >= VK_API_VERSION_1_3;

    VkPhysicalDeviceVulkan13Features features13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    VkPhysicalDeviceVulkan12Features features12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features features11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    features11.pNext = &features12;
    if (vulkan13) features12.pNext = &features13;
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &features11};
    functions.vkGetPhysicalDeviceFeatures2(device, &features);

    out->storageBuffer16BitAccess = features11.storageBuffer16BitAccess;
    out->storageBuffer8BitAccess = features12.storageBuffer8BitAccess;
    out->shaderFloat16 = features12.shaderFloat16;
    out->shaderInt8 = features12.shaderInt8;
    out->vulkanMemoryModel = features12.vulkanMemoryModel;
    out->shaderInt16 = features.features.shaderInt16;
    out->subgroupSizeControl = vulkan13 && features13.subgroupSizeControl;
    out->computeFullSubgroups = vulkan13 && features13.computeFullSubgroups;
    out->maintenance4 = vulkan13 && features13.maintenance4;

    VkPhysicalDeviceSubgroupSizeControlProperties sizeControl = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    subgroup.pNext = &driver;
    if (vulkan13) driver.pNext = &sizeControl;
    VkPhysicalDeviceProperties2 properties = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                              .pNext = &subgroup};
    functions.vkGetPhysicalDeviceProperties2(device, &properties);
    out->subgroupSize = subgroup.subgroupSize;
    out->subgroupSupportedOperations = subgroup.supportedOperations;
    out->minSubgroupSize = vulkan13 ? sizeControl.minSubgroupSize : subgroup.subgroupSize;
    out->maxSubgroupSize = vulkan13 ? sizeControl.maxSubgroupSize : subgroup.subgroupSize;
    out->requiredSubgroupSizeStages = vulkan13 ? sizeControl.requiredSubgroupSizeStages : 0;
    out->driverID = driver.driverID;
    memcpy(out->driverName, driver.driverName, sizeof(out->driverName));
    memcpy(out->driverInfo, driver.driverInfo, sizeof(out->driverInfo));

    out->memoryBudget = has_extension(device, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    out->cooperativeMatrix = has_extension(device, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME) &&
                             functions.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR != NULL &&
                             out->vulkanMemoryModel;
    if (out->memoryBudget) kvk_query_memory_budget(device, out->heapBudget, out->heapUsage);
}

bool kvk_query_memory_budget(VkPhysicalDevice device, VkDeviceSize *budget, VkDeviceSize *usage) {
    if (!has_extension(device, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME)) return false;
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budgetProperties = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 properties = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
                                                    .pNext = &budgetProperties};
    functions.vkGetPhysicalDeviceMemoryProperties2(device, &properties);
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; i++) {
        budget[i] = budgetProperties.heapBudget[i];
        usage[i] = budgetProperties.heapUsage[i];
    }
    return true;
}

uint32_t kvk_cooperative_matrix_shapes(VkPhysicalDevice device, KvkCooperativeMatrixShape *out, uint32_t capacity) {
    if (functions.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR == NULL) return 0;
    if (!has_extension(device, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME)) return 0;
    uint32_t count = 0;
    functions.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(device, &count, NULL);
    VkCooperativeMatrixPropertiesKHR properties[64];
    if (count > 64) count = 64;
    for (uint32_t i = 0; i < count; i++) {
        memset(&properties[i], 0, sizeof(properties[i]));
        properties[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR;
    }
    functions.vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR(device, &count, properties);
    uint32_t written = 0;
    for (uint32_t i = 0; i < count && written < capacity; i++) {
        out[written++] = (KvkCooperativeMatrixShape){
            .m = properties[i].MSize, .n = properties[i].NSize, .k = properties[i].KSize,
            .aType = properties[i].AType, .bType = properties[i].BType, .cType = properties[i].CType,
            .resultType = properties[i].ResultType, .scope = properties[i].scope};
    }
    return count;
}

VkResult kvk_create_device(VkPhysicalDevice physical, uint32_t queueFamily, const KvkDeviceCapabilities *caps,
                           VkDevice *device) {
    VkPhysicalDeviceProperties base;
    functions.vkGetPhysicalDeviceProperties(physical, &base);
    bool vulkan13 = base.apiVersion >= VK_API_VERSION_1_3;

    VkPhysicalDeviceCooperativeMatrixFeaturesKHR cooperative = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR,
        .cooperativeMatrix = VK_TRUE};
    VkPhysicalDeviceVulkan13Features features13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    features13.subgroupSizeControl = caps->subgroupSizeControl;
    features13.computeFullSubgroups = caps->computeFullSubgroups;
    features13.maintenance4 = caps->maintenance4;
    VkPhysicalDeviceVulkan12Features features12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    features12.shaderFloat16 = caps->shaderFloat16;
    features12.shaderInt8 = caps->shaderInt8;
    features12.storageBuffer8BitAccess = caps->storageBuffer8BitAccess;
    features12.vulkanMemoryModel = caps->cooperativeMatrix && caps->vulkanMemoryModel;
    VkPhysicalDeviceVulkan11Features features11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    features11.storageBuffer16BitAccess = caps->storageBuffer16BitAccess;
    features11.pNext = &features12;
    void **tail = &features12.pNext;
    if (vulkan13) {
        *tail = &features13;
        tail = &features13.pNext;
    }
    if (caps->cooperativeMatrix) {
        *tail = &cooperative;
        tail = &cooperative.pNext;
    }
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &features11};
    features.features.shaderInt16 = caps->shaderInt16;

    const char *extensions[4];
    uint32_t extensionCount = 0;
    if (caps->memoryBudget) extensions[extensionCount++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
    if (caps->cooperativeMatrix) extensions[extensionCount++] = VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;

    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = queueFamily,
                                     .queueCount = 1,
                                     .pQueuePriorities = &priority};
    VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                               .pNext = &features,
                               .queueCreateInfoCount = 1,
                               .pQueueCreateInfos = &queue,
                               .enabledExtensionCount = extensionCount,
                               .ppEnabledExtensionNames = extensions};
    return functions.vkCreateDevice(physical, &info, NULL, device);
}

/* The one function messages go to (the same for every instance); each instance's messenger carries its own context
   as its user data, so an instance's messages reach its own log even after other instances come and go. */
static KvkMessageSink messageSink;

static VKAPI_ATTR VkBool32 VKAPI_CALL forward_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                      VkDebugUtilsMessageTypeFlagsEXT types,
                                                      const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                      void *userData) {
    (void)types;
    if (messageSink != NULL) {
        messageSink(userData, (int)severity, data->pMessage != NULL ? data->pMessage : "(no message)");
    }
    return VK_FALSE;
}

VkResult kvk_create_instance(const char *applicationName, const char *const *layers, uint32_t layerCount,
                             bool enablePortability, KvkMessageSink sink, void *context, VkInstance *instance,
                             VkDebugUtilsMessengerEXT *messenger) {
    uint32_t apiVersion = VK_API_VERSION_1_1;
    if (functions.vkEnumerateInstanceVersion != NULL) functions.vkEnumerateInstanceVersion(&apiVersion);
    if (apiVersion > VK_API_VERSION_1_3) apiVersion = VK_API_VERSION_1_3;

    VkApplicationInfo application = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                                     .pApplicationName = applicationName,
                                     .pEngineName = "Kinora",
                                     .apiVersion = apiVersion};
    const char *extensions[2];
    uint32_t extensionCount = 0;
    if (sink != NULL) extensions[extensionCount++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    if (enablePortability) extensions[extensionCount++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;

    if (sink != NULL) messageSink = sink;
    VkDebugUtilsMessengerCreateInfoEXT messengerInfo = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = forward_message,
        .pUserData = context};
    VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                 .pNext = sink != NULL ? &messengerInfo : NULL,
                                 .flags = enablePortability ? VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR : 0,
                                 .pApplicationInfo = &application,
                                 .enabledLayerCount = layerCount,
                                 .ppEnabledLayerNames = layers,
                                 .enabledExtensionCount = extensionCount,
                                 .ppEnabledExtensionNames = extensions};
    VkResult result = functions.vkCreateInstance(&info, NULL, instance);
    if (result != VK_SUCCESS) return result;
    const char *missing = kvk_load_instance(*instance);
    if (missing != NULL) return VK_ERROR_INITIALIZATION_FAILED;
    if (sink != NULL && messenger != NULL && functions.vkCreateDebugUtilsMessengerEXT != NULL) {
        result = functions.vkCreateDebugUtilsMessengerEXT(*instance, &messengerInfo, NULL, messenger);
    }
    return result;
}

void kvk_submit_debug_message(VkInstance instance, const char *message) {
    if (functions.vkSubmitDebugUtilsMessageEXT == NULL) return;
    VkDebugUtilsMessengerCallbackDataEXT data = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CALLBACK_DATA_EXT,
                                                 .pMessageIdName = "kinora-test",
                                                 .pMessage = message};
    functions.vkSubmitDebugUtilsMessageEXT(instance, VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
                                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT, &data);
}
