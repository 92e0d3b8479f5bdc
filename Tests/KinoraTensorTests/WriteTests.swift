import KinoraReference
import KinoraTensor
import XCTest

final class WriteTests: TensorTestCase {
    func testWriteIntoAnInputTensorChangesOnlyItsEntriesAndPersists() throws {
        // A [2, 5, 3] cache; rows 1..<3 of the middle axis written from a [2, 2, 3] source, in f32 and f16.
        for dtype in [DType.f32, .f16] {
            let initial = (0..<30).map { Float($0) }
            let cache = try Tensor(initial, shape: [2, 5, 3], dtype: dtype, on: device)
            let source = (0..<12).map { Float(100 + $0) }
            let graph = makeGraph()
            try graph.write(try graph.input(source, shape: [2, 2, 3]), into: graph.input(cache), axis: 1, start: 1)
            // The write runs when something needs the cache: here a copy of it.
            let copied = try graph.run([try graph.scale(graph.input(cache), by: 1)])[0]
            var expected = initial
            for b in 0..<2 {
                for r in 0..<2 {
                    for c in 0..<3 { expected[b * 15 + (1 + r) * 3 + c] = source[b * 6 + r * 3 + c] }
                }
            }
            XCTAssertEqual(try copied.floats(), expected, "\(dtype)")
            // In place: the tensor itself now holds the written rows, after the graph is gone.
            XCTAssertEqual(try cache.floats(), expected, "\(dtype)")
        }
    }

    func testAttentionOverACacheFilledStepByStepMatchesTheReference() throws {
        // A key-value cache of 11 rows filled one step (1 or 2 rows) at a time; each step's queries attend to the
        // rows filled so far, read in place (`keyLength`), causally.
        let (batch, heads, headDim, capacity) = (2, 3, 7, 11)
        let width = heads * headDim
        let keys = try Tensor([Float](repeating: .nan, count: batch * capacity * width),
                              shape: [batch, capacity, width], on: device)
        let values = try Tensor([Float](repeating: .nan, count: batch * capacity * width),
                                shape: [batch, capacity, width], on: device)
        var allKeys = [[Float]](repeating: [], count: batch), allValues = allKeys
        var filled = 0
        for step in [1, 2, 1, 1, 2, 1] {
            let q = randomValues(batch * step * width, scale: 2)
            let k = randomValues(batch * step * width, scale: 2)
            let v = randomValues(batch * step * width)
            let graph = makeGraph()
            let cachedKeys = graph.input(keys), cachedValues = graph.input(values)
            try graph.write(try graph.input(k, shape: [batch, step, width]), into: cachedKeys, axis: 1, start: filled)
            try graph.write(try graph.input(v, shape: [batch, step, width]), into: cachedValues, axis: 1,
                            start: filled)
            let y = try graph.attention(query: graph.input(q, shape: [batch, step, width]), key: cachedKeys,
                                        value: cachedValues, heads: heads, blockCausal: 1, keyLength: filled + step)
            let result = try graph.run([y])[0].floats()
            for b in 0..<batch {
                allKeys[b] += k[(b * step * width)..<((b + 1) * step * width)]
                allValues[b] += v[(b * step * width)..<((b + 1) * step * width)]
            }
            filled += step
            let problem = AttentionReference.Problem(batch: batch, heads: heads, queryLength: step, keyLength: filled,
                                                     headDim: headDim)
            assertClose(result, AttentionReference.attention(q, Array(allKeys.joined()), Array(allValues.joined()),
                                                             problem, blockCausal: 1),
                        tolerance: 2e-5, "after \(filled) rows")
        }
    }

    func testBadWritesThrowNamingTheOp() throws {
        let graph = makeGraph()
        let target = try graph.input([Float](repeating: 0, count: 24), shape: [2, 4, 3])
        let source = try graph.input([Float](repeating: 1, count: 12), shape: [2, 2, 3])
        XCTAssertThrowsError(try graph.write(source, into: target, axis: 1, start: 3)) { error in
            XCTAssertEqual(error as? TensorError, .invalidArgument(
                op: "write", reason: "entries 3..<5 are outside axis 1 of [2, 4, 3]"))
        }
        XCTAssertThrowsError(try graph.write(source, into: target, axis: 2, start: 0)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(
                op: "write", shapes: [[2, 2, 3], [2, 4, 3]], reason: "all axes but 2 must match"))
        }
        XCTAssertThrowsError(try graph.attention(query: source, key: target, value: target, heads: 1, keyLength: 5))
        { error in
            XCTAssertEqual(error as? TensorError, .invalidArgument(
                op: "attention", reason: "key length 5 must be 1...4, the keys stored"))
        }
    }
}
