import KinoraFormats
import KinoraGPU
import KinoraShaders
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The full-size Wan 2.1 and Wan 2.2 VAEs over random F16 weights: the streamed decode's feature cache and the
/// planned device peak of one latent frame, recorded and planned (`Graph.memoryPlan`), never run.
final class AutoencoderKLWanMemoryTests: XCTestCase {
    /// A device whose allocator admits the full-size decoder's weights and stand-ins (lavapipe reports a 2 GiB heap
    /// but takes more).
    static let device: GPUDevice = {
        do {
            return try GPUDevice(
                selection: .fromEnvironment(), validation: false, budget: 16_000_000_000,
                shaders: { ShaderLibrary.spirv(named: $0) })
        } catch {
            fatalError("cannot open a Vulkan device: \(error)")
        }
    }()

    private func model(_ configuration: AutoencoderKLWanConfig) throws -> AutoencoderKLWan {
        let shapes = Dictionary(
            uniqueKeysWithValues: AutoencoderKLWan.parameterShapes(configuration)
                .map { ($0.name, $0.shape) })
        let store = RandomWeightStore(shapes: shapes, sourceName: "random Wan VAE")
        return try AutoencoderKLWan(
            configuration: configuration,
            weights: DeviceWeights(store: store, device: Self.device))
    }

    private func megabytes(_ bytes: UInt64) -> String { "\(bytes / 1_000_000) MB" }

    private func report(_ name: String, _ vae: AutoencoderKLWan, height: Int, width: Int) throws
        -> (WanVAEStreamingDecodeMemory, WanVAEStreamingDecodeMemory)
    {
        let s = vae.configuration.spatialCompression
        let whole = try vae.streamingDecodeMemory(latentHeight: height / s, latentWidth: width / s)
        let tiles = AutoencoderKLWan.TileConfiguration()
        let tiled = try vae.streamingDecodeMemory(latentHeight: height / s, latentWidth: width / s, tiles: tiles)
        let half = try vae.streamingDecodeMemory(latentHeight: height / s, latentWidth: width / s, cacheType: .f16)
        XCTAssertEqual(half.cacheBytes * 2, whole.cacheBytes)
        XCTAssertLessThan(half.peakBytes, whole.peakBytes)
        let weights = UInt64(vae.weights.uploadedBytes)
        print(
            "\(name) streamed decode at \(width)×\(height), one latent frame → \(whole.outputFrames) frames: "
                + "cache \(megabytes(whole.cacheBytes)) in \(whole.cacheShapes[0].count) slots; peak beside the weights "
                + "\(megabytes(whole.peakBytes)) (at \(whole.peakStep)); decoder weights (F16) \(megabytes(weights)); "
                + "with diffusers' default tiles (\(tiled.cacheShapes.count) tiles): cache \(megabytes(tiled.cacheBytes)), "
                + "peak \(megabytes(tiled.peakBytes)) (at \(tiled.peakStep)); with an f16 cache: cache "
                + "\(megabytes(half.cacheBytes)), peak \(megabytes(half.peakBytes)) (at \(half.peakStep))")
        return (whole, tiled)
    }

    func testWan21StreamedDecodeAt832x480() throws {
        let vae = try model(.wan21)
        let (whole, _) = try report("Wan 2.1 VAE", vae, height: 480, width: 832)
        // Self-Forcing's ZERO_VAE_CACHE (anchors-video.md §1.3): 32 slots, 1×16 and 11×384 at 60×104, 1×192 and
        // 6×384 at 120×208, 6×192 at 240×416, 7×96 at 480×832, 944 M elements.
        var layout: [String: Int] = [:]
        for shape in whole.cacheShapes[0] {
            XCTAssertEqual(shape[0], 1)
            XCTAssertEqual(shape[2], 2)
            layout["\(shape[1])@\(shape[3])x\(shape[4])", default: 0] += 1
        }
        XCTAssertEqual(
            layout,
            [
                "16@60x104": 1, "384@60x104": 11, "192@120x208": 1, "384@120x208": 6,
                "192@240x416": 6, "96@480x832": 7,
            ])
        XCTAssertEqual(whole.cacheBytes, 4 * 944_286_720)
        XCTAssertEqual(whole.outputFrames, 4)
        XCTAssertLessThan(whole.peakBytes, 2 * whole.cacheBytes, "one copy of the cache")
    }

    func testWan22StreamedDecodeAt1280x704() throws {
        let vae = try model(.wan22)
        let (whole, tiled) = try report("Wan 2.2 VAE", vae, height: 704, width: 1280)
        XCTAssertEqual(whole.outputFrames, 4)
        XCTAssertEqual(whole.cacheShapes[0].count, 32)
        // Here diffusers' tiles lower the peak, so a budget between the two picks them.
        XCTAssertLessThan(tiled.peakBytes, whole.peakBytes)
        let budget = (tiled.peakBytes + whole.peakBytes) / 2
        XCTAssertEqual(
            try vae.streamingTiles(latentHeight: 44, latentWidth: 80, budget: budget),
            AutoencoderKLWan.TileConfiguration())
        XCTAssertNil(try vae.streamingTiles(latentHeight: 44, latentWidth: 80, budget: whole.peakBytes))
        XCTAssertLessThan(whole.peakBytes, 2 * whole.cacheBytes, "one copy of the cache")
    }
}
