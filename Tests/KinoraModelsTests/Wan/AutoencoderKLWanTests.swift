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
}
