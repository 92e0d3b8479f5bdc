import KinoraKernelCheck
import KinoraReference
import KinoraTensor
import XCTest

/// Half-precision activations in the dense ops (matmul, attention, softmax, the norms, reductions, embeddings, copy):
/// each stores its result in the graph's activation type, computes in f32, and so gives exactly its f32 result on
/// the same (16-bit) inputs rounded once; against the double-precision reference on the unrounded inputs it stays
/// within the conformance floors (`ConformanceCase.halfToleranceFloor`).
final class PrecisionDenseTests: TensorTestCase {
    private static let halfTypes = [DType.f16, .bf16]

    /// `values` as `dtype` stores them.
    private func rounded(_ values: [Float], _ dtype: DType) -> [Float] {
        values.map { HostConversionMirror.rounded($0, to: dtype) }
    }

    /// Records `body` in an f32 graph and in one whose activations are `dtype`, runs both, and checks that the half
    /// result is stored as `dtype` (2 bytes an element) and equals the f32 result rounded to `dtype`. `body` must
    /// read inputs that `dtype` holds exactly. Returns the half result's values.
    @discardableResult
    private func assertRoundsTheF32Result(
        _ dtype: DType, _ label: String, file: StaticString = #filePath, line: UInt = #line,
        _ body: (Graph) throws -> Value
    ) throws -> [Float] {
        let exact = makeGraph()
        let expected = try exact.run([body(exact)])[0].floats()
        let half = makeGraph()
        half.activationDType = dtype
        let value = try body(half)
        XCTAssertEqual(value.dtype, dtype, "\(label): recorded type", file: file, line: line)
        let result = try half.run([value])[0]
        XCTAssertEqual(result.dtype, dtype, "\(label): stored type", file: file, line: line)
        XCTAssertEqual(result.byteCount, 2 * result.count, "\(label): 16-bit storage", file: file, line: line)
        let actual = try result.floats()
        let mismatches = zip(actual, rounded(expected, dtype)).filter { $0.0.bitPattern != $0.1.bitPattern }
        XCTAssertTrue(mismatches.isEmpty, "\(label): \(mismatches.count) of \(actual.count) elements differ from the "
            + "f32 result rounded, e.g. \(mismatches.prefix(3))", file: file, line: line)
        return actual
    }

    /// Asserts that `actual` is within `dtype`'s conformance floor of the reference (relative L2).
    private func assertWithinFloor(_ actual: [Float], _ expected: [Double], _ dtype: DType, _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        let error = Reference.relativeL2(actual, expected)
        XCTAssertLessThanOrEqual(error, ConformanceCase.halfToleranceFloor(dtype), "\(label): relative L2 \(error)",
                                 file: file, line: line)
    }

    func testMatmulInEveryKernelStoresHalfAndMatchesTheF32Reference() throws {
        // 130 rows take the tiled kernels (shared-memory and direct loads), 3 rows the vector kernel.
        let (n, k) = (57, 70)
        for dtype in Self.halfTypes {
            for (strategy, m) in [(MatmulStrategy.sharedMemory, 130), (.direct, 130), (.automatic, 3)] {
                // Each weight type once; transposed weights (a linear layer) reach the vector kernel.
                for (weightType, transposeB) in [(DType.f32, false), (.f16, true), (.bf16, true)] {
                    let a = randomValues(m * k)
                    let b = rounded(randomValues(n * k), weightType), bias = rounded(randomValues(n), weightType)
                    let label = "\(dtype) activations, \(strategy) \(m) rows, \(weightType) weights, "
                        + "transposeB \(transposeB)"
                    let actual = try assertRoundsTheF32Result(dtype, label) { graph in
                        graph.matmulStrategy = strategy
                        return try graph.matmul(
                            graph.input(rounded(a, dtype), shape: [m, k]),
                            graph.input(b, shape: transposeB ? [n, k] : [k, n], dtype: weightType),
                            transposeB: transposeB, bias: graph.input(bias, shape: [n], dtype: weightType))
                    }
                    let expected = Reference.matmul(a, b, batch: 1, batchB: 1, m: m, n: n, k: k,
                                                    transposeB: transposeB, bias: bias)
                    assertWithinFloor(actual, expected, dtype, label)
                }
            }
        }
    }

    func testFloat8WeightsWorkWithHalfActivations() throws {
        // Float8 weights decoded in the kernels (with their per-tensor scale) against f16 and bf16 activations, on
        // the tiled and the vector kernels, with biases of each type the files store.
        let (n, k) = (29, 53)
        for dtype in Self.halfTypes {
            for weightType in [DType.f8e4m3fn, .f8e5m2] {
                let scale: Float = weightType == .f8e4m3fn ? 0.0371 : 3.1e-4
                let finite = Float8Mirror.finiteBytes(weightType)
                let bytes = (0..<n * k).map { _ in finite[Int(random.next() % UInt64(finite.count))] }
                let weights = bytes.map { Float8Mirror.value($0, weightType) * scale }
                let weight = try bytes.withUnsafeBytes {
                    try Tensor(bytes: $0, shape: [n, k], dtype: weightType, scale: scale, on: device)
                }
                for biasType in [DType.f32, .bf16] {
                    let bias = rounded(randomValues(n), biasType)
                    for (strategy, m) in [(MatmulStrategy.sharedMemory, 37), (.direct, 37), (.automatic, 2)] {
                        let a = randomValues(m * k)
                        let label = "\(dtype) activations, \(weightType) weights, \(biasType) bias, \(strategy)"
                        let actual = try assertRoundsTheF32Result(dtype, label) { graph in
                            graph.matmulStrategy = strategy
                            return try graph.linear(graph.input(rounded(a, dtype), shape: [m, k]),
                                                    weight: graph.input(weight),
                                                    bias: graph.input(bias, shape: [n], dtype: biasType))
                        }
                        let expected = Reference.matmul(a, weights, batch: 1, batchB: 1, m: m, n: n, k: k,
                                                        transposeB: true, bias: bias)
                        assertWithinFloor(actual, expected, dtype, label)
                    }
                }
            }
        }
    }

    func testAttentionStoresHalfAndMatchesTheF32Reference() throws {
        let p = AttentionReference.Problem(batch: 2, heads: 3, queryLength: 33, keyLength: 70, headDim: 40)
        let maskShape = [p.batch, 1, p.queryLength, p.keyLength]
        for dtype in Self.halfTypes {
            let q = randomValues(p.batch * p.queryLength * p.width, scale: 2)
            let k = randomValues(p.batch * p.keyLength * p.width, scale: 2)
            let v = randomValues(p.batch * p.keyLength * p.width)
            let mask = randomValues(maskShape.reduce(1, *), scale: 3).map { $0 > 2.4 ? -Float.infinity : $0 }
            let actual = try assertRoundsTheF32Result(dtype, "\(dtype) attention") { graph in
                try graph.attention(query: graph.input(rounded(q, dtype), shape: [p.batch, p.queryLength, p.width]),
                                    key: graph.input(rounded(k, dtype), shape: [p.batch, p.keyLength, p.width]),
                                    value: graph.input(rounded(v, dtype), shape: [p.batch, p.keyLength, p.width]),
                                    heads: p.heads, mask: graph.input(mask, shape: maskShape))
            }
            let expected = AttentionReference.attention(q, k, v, p, mask: { b, _, i, j in
                Double(mask[(b * p.queryLength + i) * p.keyLength + j])
            })
            assertWithinFloor(actual, expected, dtype, "\(dtype) attention")
        }
    }

    func testAttentionReadsAKVCacheStoredInTheActivationTypeInPlaceAndCastsOneStoredOtherwise() throws {
        // A decoding loop's cache filled step by step (Graph.write casts each step's keys to the cache's type). A
        // cache in the activation type is read where it lies: the attention adds its own dispatch only.
        let (batch, heads, headDim, capacity) = (2, 3, 8, 9)
        let width = heads * headDim
        for (dtype, cacheType) in [(DType.f16, DType.f16), (.bf16, .bf16), (.bf16, .f32)] {
            let keys = try Tensor.unwritten(shape: [batch, capacity, width], dtype: cacheType, on: device)
            let values = try Tensor.unwritten(shape: [batch, capacity, width], dtype: cacheType, on: device)
            var allKeys = [[Float]](repeating: [], count: batch), allValues = allKeys
            var filled = 0
            for step in [2, 1, 3] {
                let q = randomValues(batch * step * width, scale: 2)
                let k = randomValues(batch * step * width, scale: 2), v = randomValues(batch * step * width)
                let graph = makeGraph()
                graph.activationDType = dtype
                let cachedKeys = graph.input(keys), cachedValues = graph.input(values)
                try graph.write(graph.input(k, shape: [batch, step, width]), into: cachedKeys, axis: 1, start: filled)
                try graph.write(graph.input(v, shape: [batch, step, width]), into: cachedValues, axis: 1,
                                start: filled)
                let query = try graph.input(q, shape: [batch, step, width], dtype: dtype)
                let before = graph.nodeCount
                let y = try graph.attention(query: query, key: cachedKeys, value: cachedValues, heads: heads,
                                            blockCausal: 1, keyLength: filled + step)
                XCTAssertEqual(graph.nodeCount - before, cacheType == dtype ? 1 : 3,
                               "\(dtype) activations over a \(cacheType) cache: casts of the cache")
                XCTAssertEqual(y.dtype, dtype)
                let result = try graph.run([y])[0]
                XCTAssertEqual(result.byteCount, 2 * result.count)
                for b in 0..<batch {
                    allKeys[b] += k[(b * step * width)..<((b + 1) * step * width)]
                    allValues[b] += v[(b * step * width)..<((b + 1) * step * width)]
                }
                filled += step
                let problem = AttentionReference.Problem(batch: batch, heads: heads, queryLength: step,
                                                         keyLength: filled, headDim: headDim)
                let expected = AttentionReference.attention(q, Array(allKeys.joined()), Array(allValues.joined()),
                                                            problem, blockCausal: 1)
                assertWithinFloor(try result.floats(), expected, dtype,
                                  "\(dtype) activations over a \(cacheType) cache after \(filled) rows")
            }
        }
    }

    func testSoftmaxStoresHalfAndMatchesTheF32Reference() throws {
        for dtype in Self.halfTypes {
            for (shape, axis) in [([3, 7, 300], 2), ([3, 33, 4], 1)] {
                let x = randomValues(shape.reduce(1, *), scale: 5)
                let actual = try assertRoundsTheF32Result(dtype, "\(dtype) softmax axis \(axis)") { graph in
                    try graph.softmax(graph.input(rounded(x, dtype), shape: shape), axis: axis)
                }
                assertWithinFloor(actual, AttentionReference.softmax(x, shape: shape, axis: axis), dtype,
                                  "\(dtype) softmax axis \(axis)")
            }
        }
    }

    func testGroupNormInOneAndInSplitPassesStoresHalfAndMatchesTheF32Reference() throws {
        // 2 · 13 · 17 elements a group take one workgroup; 2 · 65 · 130 (over normSplitThreshold) are split, their
        // partial statistics kept in f32 between the two dispatches.
        for dtype in Self.halfTypes {
            for (shape, groups) in [([2, 8, 13, 17], 4), ([1, 4, 65, 130], 2)] {
                let channels = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
                let x = randomValues(shape.reduce(1, *), scale: 3)
                let weight = rounded(randomValues(channels), .f16), bias = rounded(randomValues(channels), .f16)
                let label = "\(dtype) group norm \(shape)"
                let actual = try assertRoundsTheF32Result(dtype, label) { graph in
                    try graph.groupNorm(graph.input(rounded(x, dtype), shape: shape), groups: groups,
                                        weight: graph.input(weight, shape: [channels], dtype: .f16),
                                        bias: graph.input(bias, shape: [channels], dtype: .f16))
                }
                let expected = NormReference.groupNorm(x, channels: channels, spatial: spatial, groups: groups,
                                                       weight: weight, bias: bias, epsilon: 1e-5)
                assertWithinFloor(actual, expected, dtype, label)
            }
        }
    }

    func testLayerRMSAndChannelNormsStoreHalfAndMatchTheF32Reference() throws {
        let (rows, width) = (2 * 9, 130)
        for dtype in Self.halfTypes {
            let x = randomValues(rows * width, scale: 2)
            let weight = rounded(randomValues(width), .bf16), bias = rounded(randomValues(width), .bf16)
            let scale = randomValues(rows * width), shift = randomValues(2 * width)
            var actual = try assertRoundsTheF32Result(dtype, "\(dtype) layer norm") { graph in
                try graph.layerNorm(graph.input(rounded(x, dtype), shape: [2, 9, width]),
                                    weight: graph.input(weight, shape: [width], dtype: .bf16),
                                    bias: graph.input(bias, shape: [width], dtype: .bf16), epsilon: 1e-6,
                                    scale: graph.input(scale, shape: [2, 9, width]),
                                    shift: graph.input(shift, shape: [2, 1, width]))
            }
            assertWithinFloor(actual, NormReference.layerNorm(x, width: width, weight: weight, bias: bias,
                                                              epsilon: 1e-6, scale: scale, shift: shift,
                                                              shiftRow: { $0 / 9 }), dtype, "\(dtype) layer norm")

            actual = try assertRoundsTheF32Result(dtype, "\(dtype) RMS norm") { graph in
                try graph.rmsNorm(graph.input(rounded(x, dtype), shape: [rows, width]),
                                  weight: graph.input(weight, shape: [width], dtype: .bf16))
            }
            assertWithinFloor(actual, NormReference.rmsNorm(x, width: width, weight: weight, epsilon: 1e-6), dtype,
                              "\(dtype) RMS norm")

            let shape = [2, 13, 3, 10]
            let channelWeight = Array(weight.prefix(13)), channelBias = Array(bias.prefix(13))
            actual = try assertRoundsTheF32Result(dtype, "\(dtype) channel RMS norm") { graph in
                try graph.channelRMSNorm(graph.input(rounded(Array(x.prefix(780)), dtype), shape: shape),
                                         weight: graph.input(channelWeight, shape: [13, 1, 1], dtype: .bf16),
                                         bias: graph.input(channelBias, shape: [13], dtype: .bf16))
            }
            let expected = NormReference.channelRMSNorm(Array(x.prefix(780)), shape: shape, weight: channelWeight,
                                                        bias: channelBias, scale: Double(13).squareRoot(),
                                                        epsilon: 1e-12)
            assertWithinFloor(actual, expected, dtype, "\(dtype) channel RMS norm")
        }
    }

    func testReductionsEmbeddingsAndCopyStoreTheActivationType() throws {
        for dtype in Self.halfTypes {
            let x = rounded(randomValues(3 * 500 * 7, scale: 3), dtype)
            for (reduction, kind) in [(Graph.Reduction.sum, "sum"), (.mean, "mean"), (.maximum, "max")] {
                let actual = try assertRoundsTheF32Result(dtype, "\(dtype) \(kind)") { graph in
                    try graph.reduce(reduction, graph.input(x, shape: [3, 500, 7]), axis: 1)
                }
                assertWithinFloor(actual, LayoutReference.reduce(x, shape: [3, 500, 7], axis: 1, kind: kind), dtype,
                                  "\(dtype) \(kind)")
            }

            let (length, heads, dim) = (7, 2, 20)
            let positions = RotaryPositions.sequence(count: length, offset: 5)
            let rotated = Array(x.prefix(length * heads * dim))
            let actual = try assertRoundsTheF32Result(dtype, "\(dtype) rotary") { graph in
                let table = try graph.rotaryTable(positions, headDim: dim)
                return try graph.applyRotary(graph.input(rotated, shape: [1, length, heads, dim]), cos: table.cos,
                                             sin: table.sin, interleaved: true)
            }
            assertWithinFloor(actual, LayoutReference.rotary(rotated, shape: [1, length, heads, dim],
                                                             positions: positions.coordinates, splits: [dim],
                                                             theta: 10000, interleaved: true),
                              dtype, "\(dtype) rotary")

            let timesteps: [Float] = [0, 1, 17.5, 999]
            let onDevice = try assertRoundsTheF32Result(dtype, "\(dtype) timestep embedding") { graph in
                try graph.timestepEmbedding(graph.input(timesteps, shape: [4]), dim: 33, flipSinToCos: true,
                                            downscaleFreqShift: 1)
            }
            let onHost = try assertRoundsTheF32Result(dtype, "\(dtype) host timestep embedding") { graph in
                try graph.timestepEmbedding(timesteps, dim: 33, flipSinToCos: true, downscaleFreqShift: 1)
            }
            let expected = LayoutReference.timestepEmbedding(timesteps, dim: 33, flipSinToCos: true,
                                                             downscaleFreqShift: 1, scale: 1, maxPeriod: 10000)
            assertWithinFloor(onDevice, expected, dtype, "\(dtype) timestep embedding")
            assertWithinFloor(onHost, expected, dtype, "\(dtype) host timestep embedding")

            let copied = try assertRoundsTheF32Result(dtype, "\(dtype) copy") { graph in
                try graph.copy(graph.input(x, shape: [x.count]))
            }
            XCTAssertEqual(copied, x, "a copy of values the type holds is exact")
        }
    }

    func testWithActivationsF32KeepsTheDenseOpsInF32InsideAHalfGraph() throws {
        let graph = makeGraph()
        graph.activationDType = .bf16
        let x = try graph.input(randomValues(4 * 6), shape: [4, 6])
        let (embedding, product) = try graph.withActivations(.f32) {
            (try graph.timestepEmbedding([3, 5], dim: 6, flipSinToCos: false, downscaleFreqShift: 0),
             try graph.matmul(x, graph.input(randomValues(6 * 5), shape: [6, 5])))
        }
        XCTAssertEqual([embedding.dtype, product.dtype], [.f32, .f32])
        XCTAssertEqual(try graph.softmax(product).dtype, .bf16)
    }
}
