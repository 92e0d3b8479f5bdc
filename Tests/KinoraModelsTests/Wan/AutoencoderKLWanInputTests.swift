import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Videos and latents the Wan VAE cannot take are refused before any work, with a message naming the shape and
/// what would fit.
final class AutoencoderKLWanInputTests: ModelTestCase {
    private func assertRefused(
        _ body: () throws -> Void, _ fragments: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is AutoencoderKLWanError, "\(error)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", file: file, line: line)
            }
        }
    }

    func testEncodeRefusesFrameCountsSizesAndChannels() throws {
        let fixture = try AutoencoderKLWanFixture("wan22", test: self)
        let vae = try fixture.model(self)
        let graph = makeGraph()
        func video(_ shape: [Int]) throws -> Value {
            try graph.input([Float](repeating: 0, count: shape.reduce(1, *)), shape: shape)
        }
        let nodes = graph.nodeCount
        assertRefused({ _ = try vae.encode(graph, video([1, 3, 8, 32, 48])) }, ["8 frames", "1 + 4k", "5", "9"])
        assertRefused({ _ = try vae.encode(graph, video([1, 3, 10, 32, 48])) }, ["10 frames"])
        assertRefused({ _ = try vae.encode(graph, video([1, 3, 9, 24, 48])) }, ["height 24", "multiples of 16"])
        assertRefused({ _ = try vae.encode(graph, video([1, 3, 9, 32, 40])) }, ["width 40"])
        assertRefused({ _ = try vae.encode(graph, video([1, 12, 9, 16, 24])) }, ["[B, 3, frames, height, width]"])
        assertRefused({ _ = try vae.encode(graph, video([3, 9, 32, 48])) }, ["[3, 9, 32, 48]"])
        XCTAssertEqual(graph.nodeCount, nodes, "nothing recorded")
        XCTAssertNoThrow(try vae.encode(graph, video([1, 3, 1, 32, 48])), "one image")
    }

    func testDecodeAndHelpersRefuseLatentsOfAnotherShape() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let vae = try fixture.model(self)
        let graph = makeGraph()
        let wrong = try graph.input([Float](repeating: 0, count: 16 * 15), shape: [1, 16, 1, 3, 5])
        assertRefused({ _ = try vae.decode(graph, wrong) }, ["[1, 16, 1, 3, 5]", "[B, 8, frames, height, width]"])
        assertRefused({ _ = try vae.normalizeLatents(graph, wrong) }, ["normalizeLatents", "[B, 8, ...]"])
        assertRefused({ _ = try vae.denormalizeLatents(graph, wrong) }, ["denormalizeLatents"])
        let flat = try graph.input([Float](repeating: 0, count: 8 * 15), shape: [1, 8, 3, 5])
        assertRefused({ _ = try vae.decode(graph, flat) }, ["[1, 8, 3, 5]"])
    }

    func testStreamingCallsRefuseChunksThatBreakTheClip() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let vae = try fixture.model(self)
        let encoder = WanVAEStreamingEncoder(vae: vae, arena: arena)
        let four = try Tensor([Float](repeating: 0, count: 3 * 4 * 24 * 40), shape: [1, 3, 4, 24, 40], on: device)
        assertRefused({ _ = try encoder.encode(four) }, ["the first chunk has 1 frame(s), got 4"])
        let one = try Tensor([Float](repeating: 0, count: 3 * 24 * 40), shape: [1, 3, 1, 24, 40], on: device)
        _ = try encoder.encode(one)
        assertRefused({ _ = try encoder.encode(one) }, ["a chunk after the first has 4 frame(s), got 1"])
        _ = try encoder.encode(four)
        encoder.reset()
        _ = try encoder.encode(one)

        let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena)
        _ = try decoder.decode(fixture.latents(0..<1, on: device))
        let other = try Tensor([Float](repeating: 0, count: 8 * 4 * 5), shape: [1, 8, 1, 4, 5], on: device)
        assertRefused({ _ = try decoder.decode(other) }, ["[1, 8, n, 3, 5]", "reset()"])
        decoder.reset()
        XCTAssertEqual(try decoder.decode(other).shape, [1, 3, 1, 32, 40])
    }

    /// A cache from another model is refused, not misread: a `Rep` marker where a convolution's frames belong, or
    /// slots left over.
    func testAForeignCacheIsRefused() throws {
        let fixture = try AutoencoderKLWanFixture("wan22", test: self)
        let vae = try fixture.model(self)
        let graph = makeGraph()
        let latents = try graph.input(fixture.tensor("latents", on: device))
        XCTAssertThrowsError(try vae.decodeChunk(WanVAEPass(graph: graph, previous: [.rep]), latents)) {
            XCTAssertTrue("\($0)".contains("Rep marker"), "\($0)")
        }
        let decoder = WanVAEStreamingDecoder(vae: vae, arena: arena)
        _ = try decoder.decode(fixture.latents(0..<1, on: device))
        let slots = decoder.caches[0].slots.map { slot -> WanVAEPass.Slot in
            guard case .frames(let tensor) = slot else { return .rep }
            return .frames(graph.input(tensor))
        }
        XCTAssertThrowsError(try vae.decodeChunk(WanVAEPass(graph: graph, previous: slots + slots), latents)) {
            XCTAssertTrue("\($0)".contains("comes from another model"), "\($0)")
        }
    }

    /// A call that runs out of memory part-way leaves its clip unusable, said so, until `reset()`; the device error
    /// reaches the caller as an error, not as frames.
    func testACallThatFailsPartWayStopsTheClipUntilReset() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let vae = try fixture.model(self)
        let decoder = WanVAEStreamingDecoder(vae: vae, arena: ActivationArena(device: device))
        _ = try decoder.decode(fixture.latents(0..<1, on: device))
        let next = try fixture.latents(1..<2, on: device)
        XCTAssertThrowsError(try withBudget(device.memory.liveBytes + 100_000) { try decoder.decode(next) }) {
            XCTAssertTrue("\($0)".contains("budget"), "\($0)")
        }
        XCTAssertThrowsError(try decoder.decode(next)) {
            XCTAssertTrue("\($0)".contains("reset()"), "\($0)")
        }
        decoder.reset()
        XCTAssertEqual(try decoder.decode(fixture.latents(0..<1, on: device)).shape[2], 1)
        XCTAssertEqual(try decoder.decode(next).shape[2], 4)
    }
}
