import Foundation
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Wan's 3-D rotary embedding: the tables against diffusers' `WanRotaryPosEmbed` (uneven t/h/w split 8/6/6), and
/// `Graph.applyRotary`'s interleaved mode against a CPU transcription of diffusers' `apply_rotary_emb` on those tables.
final class WanTransformerRotaryTests: ModelTestCase {
    /// Deterministic values in [-2, 2).
    private func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 4 - 2
        }
    }

    func testRotaryTablesMatchDiffusers() throws {
        let fixture = try WanTransformerFixture(test: self)
        let grid = try WanPatchGrid(latent: [1, 4, 3, 6, 10], configuration: fixture.configuration)
        let (cos, sin) = try WanRotaryPosEmbed(configuration: fixture.configuration).tables(grid)
        let expectedCos = try fixture.values("rotary_cos")
        let expectedSin = try fixture.values("rotary_sin")
        XCTAssertEqual(cos.count, 45 * 10)
        XCTAssertEqual(expectedCos.count, 45 * 20)
        var largest: Float = 0
        for token in 0..<45 {
            for pair in 0..<10 {
                // diffusers repeats each pair's value for both of its channels.
                let (c, s) = (expectedCos[token * 20 + 2 * pair], expectedSin[token * 20 + 2 * pair])
                XCTAssertEqual(expectedCos[token * 20 + 2 * pair + 1], c)
                XCTAssertEqual(expectedSin[token * 20 + 2 * pair + 1], s)
                largest = max(largest, abs(cos[token * 10 + pair] - c), abs(sin[token * 10 + pair] - s))
            }
        }
        XCTAssertLessThanOrEqual(largest, 2e-7, "tables differ by \(largest)")
        // Token 44 is patch (2, 2, 4): its t pairs turn by 2·θ^(−2q/8), its w pairs by 4·θ^(−2q/6).
        XCTAssertEqual(cos[44 * 10 + 1], Float(Foundation.cos(2 * Foundation.pow(10000, -2.0 / 8))))
        XCTAssertEqual(sin[44 * 10 + 8], Float(Foundation.sin(4 * Foundation.pow(10000, -2.0 / 6))))
    }

    /// The released models' heads of 128 split into 22/21/21 pairs.
    func testReleasedModelsSplitHeadsOf128Unevenly() {
        XCTAssertEqual(WanTransformer3DConfig.wan21T2V1_3B.rotarySplits, [44, 42, 42])
        XCTAssertEqual(WanTransformer3DConfig.wan22TI2V5B.rotarySplits, [44, 42, 42])
    }

    /// `applyRotary(interleaved: true)` with Kinora's tables is diffusers' `apply_rotary_emb` on diffusers' tables:
    /// `out[2p] = x[2p]·cos[2p] − x[2p+1]·sin[2p+1]`, `out[2p+1] = x[2p]·sin[2p+1] + x[2p+1]·cos[2p]` per head, on
    /// q laid out [B, L, heads·D] as the projections give it.
    func testInterleavedRotaryIsDiffusersApplyRotaryEmb() throws {
        let fixture = try WanTransformerFixture(test: self)
        let (batch, tokens, heads, dim) = (2, 45, 2, 20)
        let input = randomValues(batch * tokens * heads * dim, seed: 3)
        let cos = try fixture.values("rotary_cos")
        let sin = try fixture.values("rotary_sin")
        var expected = [Float](repeating: 0, count: input.count)
        for b in 0..<batch {
            for l in 0..<tokens {
                for h in 0..<heads {
                    let base = ((b * tokens + l) * heads + h) * dim
                    for p in 0..<(dim / 2) {
                        let (x1, x2) = (input[base + 2 * p], input[base + 2 * p + 1])
                        let (c, s) = (cos[l * dim + 2 * p], sin[l * dim + 2 * p + 1])
                        expected[base + 2 * p] = x1 * c - x2 * s
                        expected[base + 2 * p + 1] = x1 * s + x2 * c
                    }
                }
            }
        }
        let graph = makeGraph()
        let grid = try WanPatchGrid(latent: [batch, 4, 3, 6, 10], configuration: fixture.configuration)
        let tables = try WanRotaryPosEmbed(configuration: fixture.configuration).values(graph, grid)
        let x = try graph.input(input, shape: [batch, tokens, heads * dim])
        let turned = try graph.applyRotary(x, cos: tables.cos, sin: tables.sin, heads: heads, interleaved: true)
        let actual = try graph.run([turned])[0].floats()
        assertClose(actual, expected, tolerance: 1e-6, "interleaved rotary")
        XCTAssertGreaterThan(relativeL2(input, expected), 0.1, "the rotation moves the values")
        print("Wan rotary: relative L2 \(relativeL2(actual, expected)) against apply_rotary_emb")
    }
}
