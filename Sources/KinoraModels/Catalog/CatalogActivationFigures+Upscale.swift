import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// Measuring an upscaler's figures by running it as `kinora upscale` runs a picture: its tiles depend on the device's
/// memory and largest buffer, so the figure is taken from a run, not from one recorded graph.
extension CatalogActivationFigures {
    /// The upscaler's activation bytes per input pixel of the largest window a tile runs on (the tile and its
    /// context): at each of `sizes`, a random square picture is upscaled by a freshly loaded model (every weight
    /// uploaded first) with the tiles `kinora upscale` picks, and the allocator's peak during the load and the run,
    /// less what was live before and the weights, is divided by that window's pixels. Each sample's setting gives
    /// the whole peak, weights included (the catalog's `measured:` peaks). The factor is the model file's own; the
    /// activations are `precision`'s (nil: the weights' type).
    public static func measure(upscaler paramURL: URL, sizes: [Int], precision: ActivationPrecision? = nil,
                               device: GPUDevice) throws -> CatalogActivationFigures {
        let memory = device.memory
        var samples: [Sample] = []
        var model = paramURL.lastPathComponent
        for size in sizes {
            memory.trim()
            let before = memory.liveBytes
            memory.resetPeak()
            let sample = try { () throws -> Sample in
                let upscaler = try RealESRGAN(paramURL: paramURL, precision: precision, device: device)
                try upscaler.uploadWeights()
                let weights = memory.liveBytes - before
                let tensors = try upscaler.model.tensorNames.reduce(0) { $0 + (try upscaler.model.info($1).byteCount) }
                model = "\(paramURL.lastPathComponent) (\(upscaler.architecture), \(tensors) bytes of tensors)"
                let arena = ActivationArena(device: device)
                let tiling = try upscaler.tiling(height: size, width: size, arena: arena)
                let tiles = tiling.tiles(height: size, width: size)
                _ = try upscaler.upscale(randomValues(count: 3 * size * size), height: size, width: size,
                                         tiling: tiling, arena: arena)
                let peak = memory.peakBytes - min(memory.peakBytes, before)
                let window = tiles.map { $0.windowRows.count * $0.windowColumns.count }.max() ?? 0
                let setting = "\(size)x\(size) ×\(Int(upscaler.scale)), \(tiles.count) tile"
                    + (tiles.count == 1 ? "" : "s") + " of \(tiling.tile) px + \(tiling.context) px context; "
                    + "peak \(peak) B with the weights (\(weights) B uploaded)"
                return Sample(component: "upscaler", unit: "per_pixel", setting: setting, units: Double(window),
                              bytes: peak - min(peak, weights))
            }()
            samples.append(sample)
        }
        memory.trim()
        return CatalogActivationFigures(model: model, device: device.physical.name,
                                        method: "allocator peak of upscaled pictures less the weights"
                                            + activationsNote(precision),
                                        samples: samples)
    }

    /// `count` reproducible random values in [0, 1): pictures to measure on.
    static func randomValues(count: Int) -> [Float] {
        var state: UInt64 = 0x9E37_79B9
        return (0..<count).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
    }
}
