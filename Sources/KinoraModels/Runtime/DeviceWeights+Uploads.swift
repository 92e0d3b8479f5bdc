import KinoraFormats
import KinoraGPU

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

extension DeviceWeights {
    /// What `record` allocates on the device beside the weights of `models` that it uploads while it records: the
    /// constants a graph makes (embeddings, tables), as the memory planners count them.
    static func constantBytes(
        of models: [DeviceWeights], on memory: MemoryAllocator, during record: () throws -> Void
    ) throws -> UInt64 {
        let before = memory.liveBytes
        let uploaded = try uploads(of: models, during: record).bytes
        let grown = memory.liveBytes - min(memory.liveBytes, before)
        return grown - min(uploaded, grown)
    }
}

extension MemoryAllocator {
    /// Device bytes of the tensors `names` of `store` once uploaded, each as the allocator rounds it (a name the store
    /// lacks counts nothing).
    func allocationSize(ofTensors names: some Sequence<String>, in store: any WeightStore) -> UInt64 {
        names.reduce(0) { total, name in
            total + allocationSize(for: UInt64((try? store.info(name).byteCount) ?? 0))
        }
    }
}
