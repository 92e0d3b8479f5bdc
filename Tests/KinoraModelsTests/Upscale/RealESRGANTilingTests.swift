import Foundation
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Tiled upscaling: the tiles cover the image once, join without seams (to float rounding, for SRVGGNetCompact with
/// its receptive radius as context), and their size comes from the memory plan.
final class RealESRGANTilingTests: ModelTestCase {
    func load(_ name: String) throws -> RealESRGAN {
        let url = RealESRGANTests.models.appending(path: "\(name).param")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) is missing: run `bash scripts/setup.sh`")
        }
        // fp32: the tiles (Winograd) and the untiled pass (direct) agree to f32 rounding; stored as f16 they can
        // round to neighbouring f16 values, one f16 ulp (2.4e-4 near 0.5) apart.
        return try RealESRGAN(paramURL: url, precision: .fp32, device: device)
    }

    /// A smooth image with seeded noise, planar RGB in [0, 1].
    func image(height: Int, width: Int) -> [Float] {
        var state: UInt64 = 0x5DEE_CE66
        return (0..<(3 * height * width)).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Float(state >> 40) / Float(1 << 24)
            let x = Float(i % width) / Float(width)
            let y = Float((i / width) % height) / Float(height)
            return 0.5 * (x + y) * 0.8 + 0.2 * noise
        }
    }

    func untiled(_ upscaler: RealESRGAN, _ input: [Float], height: Int, width: Int) throws -> [Float] {
        let graph = makeGraph()
        return try graph.run([upscaler.forward(graph, graph.input(input, shape: [1, 3, height, width]))])[0].floats()
    }

    func testTilesCoverEveryPixelOnceWithContextClippedAtTheEdges() throws {
        let tiling = try UpscaleTiling(tile: 16, context: 5)
        let tiles = tiling.tiles(height: 37, width: 33)
        XCTAssertEqual(tiles.count, 9)
        var covered = [Int](repeating: 0, count: 37 * 33)
        for tile in tiles {
            XCTAssertLessThanOrEqual(tile.rows.count, 16)
            XCTAssertEqual(tile.windowRows.lowerBound, max(0, tile.rows.lowerBound - 5))
            XCTAssertEqual(tile.windowColumns.upperBound, min(33, tile.columns.upperBound + 5))
            for y in tile.rows { for x in tile.columns { covered[y * 33 + x] += 1 } }
        }
        XCTAssertEqual(Set(covered), [1])
        XCTAssertThrowsError(try UpscaleTiling(tile: 0, context: 1))
    }

    func testCompactNetworkTilesWithItsReceptiveRadiusAreTheUntiledResultAfterTheResize() throws {
        let upscaler = try load("realesr-animevideov3-x3")
        XCTAssertEqual(upscaler.exactContext, 18)
        let (height, width) = (23, 30)
        let input = image(height: height, width: width)
        let whole = try untiled(upscaler, input, height: height, width: width)
        var calls: [(Int, Int)] = []
        let tiled = try upscaler.upscale(
            input, height: height, width: width,
            tiling: UpscaleTiling(tile: 12, context: 18), arena: arena
        ) {
            calls.append(($0, $1))
        }
        XCTAssertEqual(calls.map(\.0), Array(1...6))
        XCTAssertEqual(tiled.count, 3 * 69 * 90)
        let largest = zip(tiled, whole).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(largest, 1e-5, "largest difference between tiled and untiled")
        // Too little context is visibly different: the test can tell.
        let short = try upscaler.upscale(
            input, height: height, width: width,
            tiling: UpscaleTiling(tile: 12, context: 2), arena: arena)
        XCTAssertGreaterThan(relativeL2(short, whole), 1e-4)
    }

    func testRRDBNetTilesComeCloserToTheUntiledResultWithMoreContext() throws {
        // RRDBNet's exact margin is hundreds of pixels, so its tiles are approximate: more context, less error.
        let upscaler = try load("realesrgan-x4plus-anime")
        XCTAssertNil(upscaler.exactContext)
        let (height, width) = (20, 18)
        let input = image(height: height, width: width)
        let whole = try untiled(upscaler, input, height: height, width: width)
        let errors = try [1, 6].map { context in
            relativeL2(
                try upscaler.upscale(
                    input, height: height, width: width,
                    tiling: UpscaleTiling(tile: 10, context: context), arena: arena), whole)
        }
        XCTAssertLessThan(errors[1], errors[0] / 3, "errors with 1 and 6 pixels of context: \(errors)")
        XCTAssertLessThan(errors[1], 2e-2, "errors with 1 and 6 pixels of context: \(errors)")
    }

    func testTheTileComesFromTheMemoryPlanAndTooLittleMemoryIsAClearError() throws {
        let upscaler = try load("realesr-animevideov3-x4")
        let roomy = try upscaler.tiling(height: 300, width: 200, availableBytes: 1 << 40, arena: arena)
        XCTAssertEqual(roomy.tile, 300)
        let small = try upscaler.peakBytes(windowHeight: 64 + 36, windowWidth: 64 + 36, arena: arena)
        let tight = try upscaler.tiling(height: 300, width: 200, availableBytes: small, arena: arena)
        XCTAssertEqual(tight.tile, 64)
        XCTAssertEqual(tight.context, 18)
        XCTAssertThrowsError(try upscaler.tiling(height: 300, width: 200, availableBytes: 1 << 20, arena: arena)) {
            guard case UpscaleError.doesNotFit(let tile, _, let available) = $0 else {
                return XCTFail("\($0)")
            }
            XCTAssertEqual(tile, 32)
            XCTAssertEqual(available, 1 << 20)
        }
    }

    /// However much memory there is, a tile's largest single buffer stays within what the device can make (128 MiB
    /// on lavapipe): a 1024² picture is not one tile.
    func testNoTileNeedsABufferLargerThanTheDeviceMakes() throws {
        let upscaler = try load("realesr-animevideov3-x4")
        let limit = device.memory.maxBufferSize
        let whole = try upscaler.tilePlan(windowHeight: 1024, windowWidth: 1024, arena: arena)
        XCTAssertGreaterThan(whole.largestBufferBytes, limit, "the whole picture would need a larger buffer")
        let tiling = try upscaler.tiling(height: 1024, width: 1024, availableBytes: 1 << 40, arena: arena)
        XCTAssertLessThan(tiling.tile, 1024)
        let window = min(1024, tiling.tile + 2 * tiling.context)
        XCTAssertLessThanOrEqual(
            try upscaler.tilePlan(windowHeight: window, windowWidth: window, arena: arena).largestBufferBytes, limit)
    }
}
