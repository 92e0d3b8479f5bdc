import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Tiled decode (diffusers' `enable_tiling`: overlapping tiles, each with its own feature cache, blended over the
/// overlap) against diffusers' `tiled_decode`, whole-clip and streamed, and the choice of tiles for a budget.
final class AutoencoderKLWanTilingTests: ModelTestCase {
    func testTiledDecodeMatchesDiffusersWholeAndStreamed() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let vae = try fixture.model(self)
            let tiles = try fixture.tiles
            let latents = try fixture.latents(0..<2, on: device)
            XCTAssertTrue(
                vae.decodeUsesTiles(
                    latentHeight: latents.shape[3], latentWidth: latents.shape[4],
                    tiles: tiles))
            let layout = try AutoencoderKLWan.TileLayout(
                tiles, configuration: vae.configuration,
                latentHeight: latents.shape[3], latentWidth: latents.shape[4])
            XCTAssertGreaterThanOrEqual(layout.count, 4, "\(name): several tiles")
            let expected = try fixture.values("tiled_decoded")
            let graph = makeGraph()
            let whole = try graph.run([vae.decode(graph, graph.input(latents), tiles: tiles)])[0]
            XCTAssertEqual(whole.shape, try fixture.shape("tiled_decoded"))
            let wholeValues = try whole.floats()
            assertClose(wholeValues, expected, tolerance: AutoencoderKLWanTests.fp32Tolerance, "\(name) tiled")

            let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena, tiles: tiles)
            var start = 0
            for index in 0..<2 {
                let output = try decoder.decode(fixture.latents(index..<(index + 1), on: device))
                XCTAssertEqual(decoder.caches.count, layout.count)
                let count = output.shape[2]
                let reference = AutoencoderKLWanFixture.frames(wholeValues, shape: whole.shape, start..<(start + count))
                XCTAssertLessThan(relativeL2(try output.floats(), reference), 1e-6, "\(name) streamed call \(index)")
                start += count
            }
            XCTAssertEqual(start, whole.shape[2])
            print(
                "\(name) tiled decode (\(layout.count) tiles): relative L2 \(relativeL2(wholeValues, expected)) "
                    + "against diffusers' tiled_decode")
        }
    }

    /// A frame no larger than one tile is decoded whole, as diffusers does.
    func testSmallFramesAreNotTiled() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let vae = try fixture.model(self)
        let tiles = AutoencoderKLWan.TileConfiguration()
        XCTAssertFalse(vae.decodeUsesTiles(latentHeight: 3, latentWidth: 5, tiles: tiles))
        let graph = makeGraph()
        let video = try vae.decode(graph, graph.input(fixture.tensor("latents", on: device)), tiles: tiles)
        assertClose(try graph.run([video])[0].floats(), try fixture.values("decoded"), tolerance: 1e-4)
    }

    /// `streamingTiles` keeps whole frames when they fit the budget and refuses a budget nothing fits; a tiled
    /// streamed call stays within its plan.
    func testStreamingTilesAndTheTiledPlan() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let vae = try fixture.model(self)
        let (height, width) = (12, 20)
        let whole = try vae.streamingDecodeMemory(latentHeight: height, latentWidth: width)
        XCTAssertNil(try vae.streamingTiles(latentHeight: height, latentWidth: width, budget: whole.peakBytes))
        XCTAssertThrowsError(try vae.streamingTiles(latentHeight: height, latentWidth: width, budget: 1000)) {
            XCTAssertTrue("\($0)".contains("bytes beside the weights"), "\($0)")
        }
        // The fixture's tiles over its 3 × 5 latents: 6 tiles.
        let tiles = try fixture.tiles
        let latents = try fixture.latents(0..<1, on: device)
        let (tileHeight, tileWidth) = (latents.shape[3], latents.shape[4])
        let tiled = try vae.streamingDecodeMemory(latentHeight: tileHeight, latentWidth: tileWidth, tiles: tiles)
        XCTAssertEqual(tiled.cacheShapes.count, 6)
        let decoder = WanVAEStreamingDecoder(vae: vae, arena: ActivationArena(device: device), tiles: tiles)
        for _ in 0..<3 { _ = try decoder.decode(latents) }
        XCTAssertEqual(UInt64(decoder.cacheBytes), tiled.cacheBytes)
        let memory = device.memory
        let before = memory.liveBytes
        let cache = decoder.caches.flatMap(\.slots).reduce(UInt64(0)) { total, slot in
            guard case .frames(let tensor) = slot else { return total }
            return total + memory.allocationSize(for: UInt64(tensor.byteCount))
        }
        memory.resetPeak()
        _ = try decoder.decode(latents)
        // The plan counts the tiles' caches and the latents, live before the call, as the allocator holds them.
        let measured = memory.peakBytes - before + cache + memory.allocationSize(for: UInt64(latents.byteCount))
        XCTAssertEqual(measured, tiled.peakBytes)
        print(
            "Wan 2.1 tiny streamed call at \(height)×\(width) latents: whole frames \(whole.peakBytes) bytes; at "
                + "\(tileHeight)×\(tileWidth) in 6 tiles of \(tiles.sampleHeight) px: planned \(tiled.peakBytes), "
                + "measured \(measured)")
    }
}
