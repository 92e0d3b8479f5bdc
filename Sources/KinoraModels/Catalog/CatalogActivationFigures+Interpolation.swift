import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// Measuring a frame interpolator's figures by running it as `kinora interpolate` runs a pair of frames: every
/// frame between the two in one call.
extension CatalogActivationFigures {
    /// A frame size and how many frames are made between two frames, to measure at.
    public struct FramePair: Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// Frames made between the two in one call: 1 for 2× the frame rate, up to 4 for 16 → 60 fps.
        public var timesteps: Int

        public init(width: Int, height: Int, timesteps: Int) {
            self.width = width
            self.height = height
            self.timesteps = timesteps
        }
    }

    /// RIFE's activation bytes per pixel of the padded frame (`RIFE.padding`): for each of `pairs`, a freshly loaded
    /// model makes `timesteps` evenly spaced frames between two random frames, and the allocator's peak during the
    /// load and the call, less what was live before and the weights, is divided by the padded frame's pixels. Each
    /// sample's setting gives the whole peak, weights included (the catalog's `measured:` peaks). The activations are
    /// `precision`'s (nil: the weights' type).
    public static func measure(interpolator url: URL, pairs: [FramePair], precision: ActivationPrecision? = nil,
                               device: GPUDevice) throws -> CatalogActivationFigures {
        let memory = device.memory
        var samples: [Sample] = []
        let store = try WeightFile.open(url)
        let tensors = try store.tensorNames.reduce(0) { $0 + (try store.info($1).byteCount) }
        for pair in pairs {
            memory.trim()
            let before = memory.liveBytes
            memory.resetPeak()
            let (width, height) = (pair.width, pair.height)
            let sample = try { () throws -> Sample in
                let rife = try RIFE(url: url, precision: precision, device: device)
                let weights = memory.liveBytes - before
                let values = 3 * width * height
                let frames = randomValues(count: 2 * values)
                let timesteps = (1...pair.timesteps).map { Float($0) / Float(pair.timesteps + 1) }
                _ = try rife.interpolate(
                    Array(frames.prefix(values)), Array(frames.suffix(values)), height: height, width: width,
                    timesteps: timesteps, arena: ActivationArena(device: device))
                let peak = memory.peakBytes - min(memory.peakBytes, before)
                let padded = (height + RIFE.padding - 1) / RIFE.padding * RIFE.padding
                    * ((width + RIFE.padding - 1) / RIFE.padding * RIFE.padding)
                let setting = "\(width)x\(height), \(pair.timesteps) frame" + (pair.timesteps == 1 ? "" : "s")
                    + " between; peak \(peak) B with the weights (\(weights) B uploaded)"
                return Sample(component: "interpolator", unit: "per_pixel", setting: setting, units: Double(padded),
                              bytes: peak - min(peak, weights))
            }()
            samples.append(sample)
        }
        memory.trim()
        return CatalogActivationFigures(
            model: "\(url.lastPathComponent) (IFNet, \(tensors) bytes of tensors)", device: device.physical.name,
            method: "allocator peak of interpolated frame pairs less the weights" + activationsNote(precision),
            samples: samples)
    }
}
