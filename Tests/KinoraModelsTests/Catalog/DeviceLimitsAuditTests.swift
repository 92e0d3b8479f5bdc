import Foundation
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The full-size models recorded over weights known by their shapes alone (nothing uploaded or run) and every
/// dispatch checked against the limits of the drivers users have — NVIDIA, AMD's RADV and AMDVLK, Intel's ANV:
/// workgroup counts on each axis (65,535 on y and z everywhere, and on x for Intel), bytes per binding, bytes per
/// allocation. This machine's lavapipe cannot run these sizes (its buffers stop at 128 MiB); the cards can, when
/// every dispatch fits.
final class DeviceLimitsAuditTests: ModelTestCase {
    private func assertFitsEveryDriver(
        _ graph: Graph, _ name: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertGreaterThan(graph.nodeCount, 0, name, file: file, line: line)
        for limits in DeviceLimits.desktopDrivers {
            let violations = graph.limitViolations(limits)
            XCTAssertTrue(
                violations.isEmpty, "\(name) on \(limits): \(violations.prefix(5))", file: file, line: line)
        }
        let extents = graph.dispatchExtents
        print(
            "\(name): \(graph.nodeCount) dispatches; most workgroups \(extents.workgroups), largest binding "
                + "\(ByteCount(extents.bindingBytes)), largest buffer \(ByteCount(extents.bufferBytes))")
    }

    func testStableDiffusionAtItsNativeSizesFitsEveryDriver() throws {
        for (model, edge) in [(CatalogModel.sd15, 512), (.sdxl, 1024)] {
            let graph = Graph(arena: arena)
            let unet = try model.makeUNet(device: device, shapesOnly: true)
            let inputs = try CatalogInputs.unet(graph, unet.configuration, batch: 2, height: edge / 8, width: edge / 8)
            _ = try CatalogInputs.recordUNet(graph, unet, inputs)
            assertFitsEveryDriver(graph, "\(model.rawValue) UNet \(edge)², batch 2")

            let decode = Graph(arena: arena)
            let vae = try model.makeAutoencoder(device: device, shapesOnly: true)
            let latents = try decode.placeholder(shape: [1, vae.configuration.latentChannels, edge / 8, edge / 8])
            _ = try vae.decode(decode, latents)
            assertFitsEveryDriver(decode, "\(model.rawValue) VAE decode \(edge)²")
        }
    }

    /// Wan 2.1 1.3B over 832×480, 81 frames: the transformer's attention over 32,760 tokens with 12 heads, and a
    /// latent frame's decode; the causal model's chunk over a full 21-frame cache; Wan 2.2 5B over 1280×704, 121
    /// frames with per-token timesteps.
    func testWanAtItsDefaultClipsFitsEveryDriver() throws {
        let wan21 = try WanCatalogModel.wan21T2V1_3B.components()
        let transformer = try wan21.makeTransformer(device: device, shapesOnly: true)
        let text = [1, UMT5EncoderModel.wanMaxSequenceLength, wan21.transformer.textDim]
        let clip = Graph(arena: arena)
        _ = try transformer(
            clip, hiddenStates: clip.placeholder(shape: [1, 16, 21, 60, 104]), timestep: .perSample([500]),
            encoderHiddenStates: clip.placeholder(shape: text))
        assertFitsEveryDriver(clip, "Wan 2.1 1.3B DiT, 832×480×81 (32,760 tokens, 12 heads)")

        let causal = try WanCausalTransformer(
            transformer: transformer, arena: arena, cacheType: .f16,
            window: WanAttentionWindow(frames: 21, sinkFrames: 3))
        let chunk = Graph(arena: arena)
        let dim = wan21.transformer.innerDim
        let pieces = [3, 3, 3, 3, 3, 3]
        let prefix = try (0..<wan21.transformer.numLayers).map { _ in
            try pieces.map { frames in
                (
                    key: try chunk.placeholder(shape: [1, frames * 1560, dim], dtype: .f16),
                    value: try chunk.placeholder(shape: [1, frames * 1560, dim], dtype: .f16)
                )
            }
        }
        let textKeyValues = try (0..<wan21.transformer.numLayers).map { _ in
            (
                key: try chunk.placeholder(shape: [1, text[1], dim]),
                value: try chunk.placeholder(shape: [1, text[1], dim])
            )
        }
        _ = try causal.record(
            chunk, chunk: chunk.placeholder(shape: [1, 16, 3, 60, 104]), timesteps: [0, 0, 0],
            text: chunk.placeholder(shape: text), textKeyValues: textKeyValues, prefix: prefix, pieceFrames: pieces,
            keep: true)
        assertFitsEveryDriver(chunk, "causal Wan 2.1 1.3B chunk of 3 over 18 cached frames, 832×480")

        let decode = Graph(arena: arena)
        let vae = try wan21.makeAutoencoder(device: device, shapesOnly: true)
        _ = try vae.decode(decode, decode.placeholder(shape: [1, 16, 2, 60, 104]))
        assertFitsEveryDriver(decode, "Wan 2.1 VAE decode of 2 latent frames, 832×480")

        let wan22 = try WanCatalogModel.wan22TI2V5B.components()
        let large = Graph(arena: arena)
        let tokensPerFrame = 22 * 40
        _ = try wan22.makeTransformer(device: device, shapesOnly: true)(
            large, hiddenStates: large.placeholder(shape: [1, 48, 31, 44, 80]),
            timestep: .firstFrameClean(500, batch: 1, frames: 31, tokensPerFrame: tokensPerFrame),
            encoderHiddenStates: large.placeholder(shape: [1, text[1], wan22.transformer.textDim]))
        assertFitsEveryDriver(large, "Wan 2.2 5B DiT, 1280×704×121 (27,280 tokens, 24 heads)")
    }

    /// The check itself: a dispatch past a limit is named, on the axis and with the bytes that break it.
    func testADispatchPastALimitIsNamed() throws {
        let graph = Graph(arena: arena)
        let x = try graph.placeholder(shape: [70_000 * 256])
        _ = try graph.unary(.silu, x)
        let strict = DeviceLimits(
            name: "strict", maxWorkgroupCount: [1000, 65_535, 65_535], maxStorageBufferRange: 1 << 20,
            maxMemoryAllocationSize: 1 << 20)
        let violations = graph.limitViolations(strict).map(\.description)
        XCTAssertTrue(violations.contains { $0.contains("workgroups on x, more than strict's 1000") }, "\(violations)")
        XCTAssertTrue(violations.contains { $0.contains("binds 71680000 bytes") }, "\(violations)")
        XCTAssertTrue(violations.contains { $0.contains("more than strict's 1048576 an allocation") }, "\(violations)")
        XCTAssertEqual(graph.limitViolations(.anv), [])
        // 70,000 groups of 256 fold onto y within lavapipe's 65,535 on x.
        XCTAssertEqual(graph.dispatchExtents.workgroups, [65_535, 2, 1])
    }
}
