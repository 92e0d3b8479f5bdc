import KinoraReference
import KinoraTensor
import XCTest

final class AttentionTests: TensorTestCase {
    private typealias Problem = AttentionReference.Problem

    /// Random [B, L, heads · D] query, key and value for `problem`.
    private func operands(_ problem: Problem) -> (q: [Float], k: [Float], v: [Float]) {
        (randomValues(problem.batch * problem.queryLength * problem.width, scale: 2),
         randomValues(problem.batch * problem.keyLength * problem.width, scale: 2),
         randomValues(problem.batch * problem.keyLength * problem.width))
    }

    private func run(_ problem: Problem, _ q: [Float], _ k: [Float], _ v: [Float], scale: Float? = nil,
                     mask: (values: [Float], shape: [Int])? = nil, blockCausal: Int? = nil) throws -> [Float] {
        let graph = makeGraph()
        let (b, width) = (problem.batch, problem.width)
        let y = try graph.attention(query: graph.input(q, shape: [b, problem.queryLength, width]),
                                    key: graph.input(k, shape: [b, problem.keyLength, width]),
                                    value: graph.input(v, shape: [b, problem.keyLength, width]),
                                    heads: problem.heads, scale: scale,
                                    mask: try mask.map { try graph.input($0.values, shape: $0.shape) },
                                    blockCausal: blockCausal)
        let result = try graph.run([y])[0]
        XCTAssertEqual(result.shape, [b, problem.queryLength, width])
        return try result.floats()
    }

    func testAttentionMatchesReferenceAcrossHeadDimsAndLengths() throws {
        let problems = [
            Problem(batch: 1, heads: 1, queryLength: 1, keyLength: 1, headDim: 7),
            Problem(batch: 2, heads: 3, queryLength: 7, keyLength: 33, headDim: 40),
            Problem(batch: 1, heads: 3, queryLength: 130, keyLength: 7, headDim: 64),
            Problem(batch: 1, heads: 1, queryLength: 33, keyLength: 130, headDim: 128),
            Problem(batch: 2, heads: 1, queryLength: 1, keyLength: 33, headDim: 72),
            Problem(batch: 1, heads: 3, queryLength: 9, keyLength: 20, headDim: 256),
        ]
        for problem in problems {
            let (q, k, v) = operands(problem)
            assertClose(try run(problem, q, k, v), AttentionReference.attention(q, k, v, problem), tolerance: 2e-5,
                        "\(problem)")
        }
    }

    func testAttentionAppliesAnExplicitScale() throws {
        let problem = Problem(batch: 1, heads: 3, queryLength: 7, keyLength: 9, headDim: 7)
        let (q, k, v) = operands(problem)
        assertClose(try run(problem, q, k, v, scale: 0.9), AttentionReference.attention(q, k, v, problem, scale: 0.9),
                    tolerance: 2e-5)
    }

    func testHeadsFirstLayoutMatchesReference() throws {
        let problem = Problem(batch: 2, heads: 3, queryLength: 33, keyLength: 7, headDim: 40)
        let (q, k, v) = operands(problem)
        let permute = { (x: [Float], length: Int) in
            AttentionReference.headsFirst(x, batch: problem.batch, length: length, heads: problem.heads,
                                          headDim: problem.headDim)
        }
        let graph = makeGraph()
        let (b, h, d) = (problem.batch, problem.heads, problem.headDim)
        let y = try graph.attention(query: graph.input(permute(q, 33), shape: [b, h, 33, d]),
                                    key: graph.input(permute(k, 7), shape: [b, h, 7, d]),
                                    value: graph.input(permute(v, 7), shape: [b, h, 7, d]), heads: h,
                                    layout: .headsFirst)
        let result = try graph.run([y])[0]
        XCTAssertEqual(result.shape, [b, h, 33, d])
        let expected = AttentionReference.attention(q, k, v, problem).map(Float.init)
        assertClose(try result.floats(), permute(expected, 33).map(Double.init), tolerance: 2e-5)
    }

    func testAdditiveMaskBroadcastsFromEachSupportedShape() throws {
        let problem = Problem(batch: 2, heads: 3, queryLength: 7, keyLength: 33, headDim: 40)
        let (lq, lk) = (problem.queryLength, problem.keyLength)
        let (q, k, v) = operands(problem)
        let shapes: [[Int]] = [[lq, lk], [1, lk], [2, 1, lq, lk], [2, 3, lq, lk], [3, 1, lk]]
        for shape in shapes {
            // Mostly small biases with some keys hidden by −inf.
            let values = randomValues(shape.reduce(1, *), scale: 3).map { $0 > 2.4 ? -Float.infinity : $0 }
            let padded = [Int](repeating: 1, count: 4 - shape.count) + shape
            let mask = { (b: Int, h: Int, i: Int, j: Int) -> Double in
                let index = [b, h, i, j].enumerated().reduce(0) { flat, axis in
                    flat * padded[axis.offset] + (padded[axis.offset] == 1 ? 0 : axis.element)
                }
                return Double(values[index])
            }
            assertClose(try run(problem, q, k, v, mask: (values, shape)),
                        AttentionReference.attention(q, k, v, problem, mask: mask), tolerance: 2e-5, "\(shape)")
        }
    }

    func testFullyMaskedQueryRowGivesZerosNotNaN() throws {
        let problem = Problem(batch: 1, heads: 1, queryLength: 7, keyLength: 33, headDim: 64)
        let (q, k, v) = operands(problem)
        var mask = randomValues(7 * 33)
        for j in 0..<33 { mask[3 * 33 + j] = -.infinity }
        let result = try run(problem, q, k, v, mask: (mask, [7, 33]))
        XCTAssertEqual(Array(result[3 * 64..<4 * 64]), [Float](repeating: 0, count: 64))
        assertClose(result, AttentionReference.attention(q, k, v, problem, mask: { Double(mask[$2 * 33 + $3]) }),
                    tolerance: 2e-5)
    }

    func testBlockCausalMatchesReferenceWithAndWithoutKVPrefix() throws {
        let cases: [(problem: Problem, block: Int)] = [
            (Problem(batch: 1, heads: 3, queryLength: 33, keyLength: 33, headDim: 40), 4),
            (Problem(batch: 2, heads: 1, queryLength: 130, keyLength: 130, headDim: 64), 16),
            (Problem(batch: 1, heads: 3, queryLength: 7, keyLength: 20, headDim: 7), 3),
            (Problem(batch: 1, heads: 1, queryLength: 9, keyLength: 130, headDim: 128), 9),
            (Problem(batch: 1, heads: 1, queryLength: 33, keyLength: 33, headDim: 7), 1),
        ]
        for (problem, block) in cases {
            let (q, k, v) = operands(problem)
            assertClose(try run(problem, q, k, v, blockCausal: block),
                        AttentionReference.attention(q, k, v, problem, blockCausal: block), tolerance: 2e-5,
                        "\(problem) block \(block)")
        }
    }

    func testBlockCausalCombinesWithAnAdditiveMask() throws {
        let problem = Problem(batch: 1, heads: 3, queryLength: 7, keyLength: 15, headDim: 40)
        let (q, k, v) = operands(problem)
        let mask = randomValues(7 * 15)
        assertClose(try run(problem, q, k, v, mask: (mask, [7, 15]), blockCausal: 4),
                    AttentionReference.attention(q, k, v, problem, mask: { Double(mask[$2 * 15 + $3]) },
                                                 blockCausal: 4), tolerance: 2e-5)
    }

    func testBadAttentionShapesThrowNamingTheOp() throws {
        let graph = makeGraph()
        let q = try graph.input(randomValues(2 * 7 * 12), shape: [2, 7, 12])
        let k = try graph.input(randomValues(2 * 5 * 12), shape: [2, 5, 12])
        let narrow = try graph.input(randomValues(2 * 5 * 8), shape: [2, 5, 8])
        XCTAssertThrowsError(try graph.attention(query: q, key: narrow, value: narrow, heads: 2)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(
                op: "attention", shapes: [[2, 7, 12], [2, 5, 8], [2, 5, 8]],
                reason: "expected query [B, Lq, H·D] and key, value [B, Lk, H·D]"))
        }
        XCTAssertThrowsError(try graph.attention(query: q, key: k, value: k, heads: 5)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(
                op: "attention", shapes: [[2, 7, 12], [2, 5, 12], [2, 5, 12]],
                reason: "width 12 does not split into 5 heads"))
        }
        XCTAssertThrowsError(try graph.attention(query: q, key: k, value: k, heads: 2, blockCausal: 2)) { error in
            guard case .shapeMismatch(let op, _, _)? = error as? TensorError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "attention")
        }
        let badMask = try graph.input(randomValues(7 * 4), shape: [7, 4])
        XCTAssertThrowsError(try graph.attention(query: q, key: k, value: k, heads: 2, mask: badMask)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(
                op: "attention", shapes: [[7, 4], [2, 2, 7, 5]],
                reason: "mask must broadcast to [B, heads, Lq, Lk] with last axis Lk"))
        }
        let wide = try graph.input(randomValues(300), shape: [1, 1, 300])
        XCTAssertThrowsError(try graph.attention(query: wide, key: wide, value: wide, heads: 1)) { error in
            XCTAssertEqual(error as? TensorError,
                           .invalidArgument(op: "attention", reason: "head dim 300 exceeds 256"))
        }
    }
}
