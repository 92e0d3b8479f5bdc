extension DeviceWeights {
    /// `body`'s result and the device bytes of the weights of `models` that it uploaded, each as the allocator holds
    /// it: what the memory planners take out of a recording's growth to leave the constants the graph made.
    static func uploads<Result>(of models: [DeviceWeights], during body: () throws -> Result) rethrows
        -> (result: Result, bytes: UInt64)
    {
        let earlier = models.map(\.uploadedNames)
        let result = try body()
        var bytes: UInt64 = 0
        for (weights, names) in zip(models, earlier) {
            for name in weights.uploadedNames.subtracting(names) {
                bytes += weights.device.memory.allocationSize(
                    for: UInt64((try? weights.store.info(name).byteCount) ?? 0))
            }
        }
        return (result, bytes)
    }
}
