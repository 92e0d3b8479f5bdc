import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `AutoencoderKLWan` against diffusers 0.42.1 on tiny random Wan 2.1 and Wan 2.2 VAEs in fp32: the whole-clip
/// decode and encode (one graph), the mid block's attention on both paths, the latent normalisation helpers.
final class AutoencoderKLWanTests: ModelTestCase {
    /// fp32 bound on the relative L2 error against diffusers.
    static let fp32Tolerance = 1e-4

    private func decode(_ fixture: AutoencoderKLWanFixture, fusedAttentionHeadDim: Int = 256) throws -> [Float] {
        let vae = try fixture.model(self, fusedAttentionHeadDim: fusedAttentionHeadDim)
        let graph = makeGraph()
        let video = try vae.decode(graph, graph.input(fixture.tensor("latents", on: device)))
        XCTAssertEqual(video.shape, try fixture.shape("decoded"))
        return try graph.run([video])[0].floats()
    }

    func testWan21DecodeMatchesDiffusers() throws {
        let fixture = try AutoencoderKLWanFixture("wan21", test: self)
        let actual = try decode(fixture)
        let expected = try fixture.values("decoded")
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, "wan21 decoded")
        print("Wan 2.1 VAE fp32 decode: relative L2 \(relativeL2(actual, expected))")
    }

    func testWan22DecodeMatchesDiffusers() throws {
        let fixture = try AutoencoderKLWanFixture("wan22", test: self)
        let actual = try decode(fixture)
        let expected = try fixture.values("decoded")
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, "wan22 decoded")
        print("Wan 2.2 VAE fp32 decode: relative L2 \(relativeL2(actual, expected))")
    }

    func testEncodeMatchesDiffusersForBothVersions() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let vae = try fixture.model(self)
            let graph = makeGraph()
            let (mean, logvar) = try vae.encode(graph, graph.input(fixture.video(on: device)))
            XCTAssertEqual(mean.shape, try fixture.shape("mean"))
            let tensors = try graph.run([mean, logvar])
            for (tensor, key) in zip(tensors, ["mean", "logvar"]) {
                let actual = try tensor.floats()
                let expected = try fixture.values(key)
                assertClose(actual, expected, tolerance: Self.fp32Tolerance, "\(name) \(key)")
                print("\(name) fp32 encode: \(key) relative L2 \(relativeL2(actual, expected))")
            }
        }
    }

    /// Widths above the flash kernel's limit (the real VAEs' 384 to 1024) take the explicit attention path; forced
    /// here on the tiny models, it gives diffusers' output too.
    func testExplicitMidBlockAttentionMatchesDiffusers() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let actual = try decode(fixture, fusedAttentionHeadDim: 0)
            let expected = try fixture.values("decoded")
            assertClose(actual, expected, tolerance: Self.fp32Tolerance, "\(name) explicit attention")
            print("\(name) explicit attention decode: relative L2 \(relativeL2(actual, expected))")
        }
    }

    /// Two clips in one batch decode as each alone.
    func testBatchOfTwoDecodesEachClipAsAlone() throws {
        let fixture = try AutoencoderKLWanFixture("wan22", test: self)
        let vae = try fixture.model(self)
        let latents = try fixture.values("latents")
        var shape = try fixture.shape("latents")
        let second = latents.map { -0.5 * $0 }
        shape[0] = 2
        let graph = makeGraph()
        let batch = try vae.decode(graph, graph.input(latents + second, shape: shape))
        let single = try vae.decode(graph, graph.input(second, shape: try fixture.shape("latents")))
        let (both, alone) = try { () throws -> ([Float], [Float]) in
            let tensors = try graph.run([batch, single])
            return (try tensors[0].floats(), try tensors[1].floats())
        }()
        let expected = try fixture.values("decoded")
        XCTAssertEqual(both.count, 2 * expected.count)
        assertClose(Array(both.prefix(expected.count)), expected, tolerance: Self.fp32Tolerance, "clip 0")
        XCTAssertLessThan(relativeL2(Array(both.suffix(expected.count)), alone), 1e-6, "clip 1 against alone")
        XCTAssertGreaterThan(relativeL2(alone, expected), 0.1, "the second clip differs from the first")
    }

    /// `normalizeLatents` / `denormalizeLatents` as WanImageToVideoPipeline and WanPipeline apply them, with the
    /// configuration's per-channel statistics.
    func testLatentNormalisationMatchesTheWanPipelines() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let vae = try fixture.model(self)
            let graph = makeGraph()
            let normalized = try vae.normalizeLatents(graph, graph.input(fixture.tensor("mean", on: device)))
            let denormalized = try vae.denormalizeLatents(graph, graph.input(fixture.tensor("latents", on: device)))
            let tensors = try graph.run([normalized, denormalized])
            XCTAssertLessThan(relativeL2(try tensors[0].floats(), try fixture.values("normalized_mean")), 1e-6, name)
            XCTAssertLessThan(
                relativeL2(try tensors[1].floats(), try fixture.values("denormalized_latents")), 1e-6,
                name)
            XCTAssertGreaterThan(
                relativeL2(try tensors[0].floats(), try fixture.values("mean")), 0.1,
                "\(name): the statistics change the latents")
        }
    }
}
