import Foundation
import KinoraFormats
import KinoraReference
import KinoraShaders
import KinoraTensor
import XCTest

/// Float8 weights (e4m3fn, e5m2) kept as bytes on the device with a per-tensor scale, decoded by the kernels.
class Float8TestCase: TensorTestCase {
    static let float8Types = [DType.f8e4m3fn, .f8e5m2]

    /// A float8 tensor of `bytes` with `scale`.
    func float8Tensor(_ bytes: [UInt8], shape: [Int], dtype: DType, scale: Float) throws -> Tensor {
        try bytes.withUnsafeBytes { try Tensor(bytes: $0, shape: shape, dtype: dtype, scale: scale, on: device) }
    }

    /// `count` finite bytes of `dtype` in a seeded random order that holds every finite byte at least once.
    func finiteBytes(_ count: Int, _ dtype: DType) -> [UInt8] {
        let finite = Float8Mirror.finiteBytes(dtype)
        precondition(count >= finite.count, "too few elements to hold every byte")
        var bytes = finite + (finite.count..<count).map { _ in finite[Int(random.next() % UInt64(finite.count))] }
        for index in stride(from: bytes.count - 1, to: 0, by: -1) {
            bytes.swapAt(index, Int(random.next() % UInt64(index + 1)))
        }
        return bytes
    }

    /// What the kernels must read for `bytes`: each value times the scale, in double precision.
    func expectedWeights(_ bytes: [UInt8], _ dtype: DType, scale: Float) -> [Double] {
        bytes.map { Double(Float8Mirror.value($0, dtype)) * Double(scale) }
    }
}

final class Float8StorageTests: Float8TestCase {
    /// PyTorch's own reading of all 256 bytes (`scripts/fixtures/make_pytorch_fixtures.py`).
    private func torchTable() throws -> (bits: [UInt8], values: [DType: [Float]]) {
        let table = try SafetensorsFile(url: Fixture.url("pytorch/float8.safetensors"))
        let bits = try table.withBytes(of: "bits") { Array($0) }
        return (bits, [.f8e4m3fn: try table.floats("e4m3fn"), .f8e5m2: try table.floats("e5m2")])
    }

    private func assertSameFloat(
        _ actual: Float, _ expected: Float, _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertTrue(
            actual == expected || (actual.isNaN && expected.isNaN), "\(message): \(actual) vs \(expected)",
            file: file, line: line)
        if !expected.isNaN {
            XCTAssertEqual(actual.sign, expected.sign, "\(message): sign", file: file, line: line)
        }
    }

    func testEveryByteDecodesAsPyTorchReadsItOnTheHostAndInTheKernelsScaleApplied() throws {
        let (bits, table) = try torchTable()
        XCTAssertEqual(bits, (0...255).map(UInt8.init))
        for dtype in Self.float8Types {
            for scale: Float in [1, -0.375] {
                let tensor = try float8Tensor(bits, shape: [256], dtype: dtype, scale: scale)
                XCTAssertEqual(tensor.byteCount, 256, "one byte an element")
                let graph = makeGraph()
                let decoded = try graph.run([graph.cast(graph.input(tensor), to: .f32)])[0].floats()
                let host = try tensor.floats()
                for (index, byte) in bits.enumerated() {
                    // The scale has two significant bits and the values four, so each product is exact.
                    let expected = table[dtype]![index] * scale
                    let label = "\(dtype) 0x\(String(byte, radix: 16)) scale \(scale)"
                    assertSameFloat(decoded[index], expected, "kernel \(label)")
                    assertSameFloat(host[index], expected, "host \(label)")
                }
            }
        }
    }

    func testHostRoundingToFloat8IsNearestTiesToEvenWithPyTorchsOverflow() throws {
        for dtype in Self.float8Types {
            let finite = Float8Mirror.finiteBytes(dtype).map { Float8Mirror.value($0, dtype) }
            let ordered = Array(Set(finite.filter { $0 >= 0 })).sorted()
            let midpoints = zip(ordered, ordered.dropFirst()).map { ($0 + $1) / 2 }
            let inputs =
                finite + midpoints + midpoints.map { -$0 } + randomValues(500, scale: 2)
                + randomValues(200, scale: 0.01) + [-0.0, 1e-30, -1e-30]
            let stored = try Tensor(inputs, shape: [inputs.count], dtype: dtype, on: device).floats()
            for (value, result) in zip(inputs, stored) {
                let expected = Float8Mirror.rounded(value, to: dtype)
                XCTAssertEqual(result, expected, "\(dtype) \(value)")
                XCTAssertEqual(result.sign, expected.sign, "\(dtype) \(value): sign")
            }
        }
        // e4m3fn has no infinity: PyTorch gives NaN past 448's rounding range; e5m2 gives infinity.
        let e4m3 = try Tensor([464, -464, 465, 1e9, .infinity, .nan], shape: [6], dtype: .f8e4m3fn, on: device)
        let e4m3Values = try e4m3.floats()
        XCTAssertEqual(Array(e4m3Values.prefix(2)), [448, -448], "a tie rounds to the even 448")
        XCTAssertTrue(e4m3Values.dropFirst(2).allSatisfy(\.isNaN), "\(e4m3Values)")
        let e5m2 = try Tensor([57344, 61439, 61440, -1e9, .nan], shape: [5], dtype: .f8e5m2, on: device).floats()
        XCTAssertEqual(Array(e5m2.prefix(4)), [57344, 57344, .infinity, -.infinity])
        XCTAssertTrue(e5m2[4].isNaN)
    }

    func testOpsWithoutFloat8KernelsWidenFloat8ToF32WithTheScale() throws {
        for dtype in Self.float8Types {
            let bytes = finiteBytes(6 * 44, dtype)
            let scale: Float = 0.0625
            let tensor = try float8Tensor(bytes, shape: [6, 44], dtype: dtype, scale: scale)
            let weights = expectedWeights(bytes, dtype, scale: scale).map { Float($0) }
            let other = randomValues(6 * 44)
            let graph = makeGraph()
            let w = graph.input(tensor)
            let x = try graph.input(other, shape: [6, 44])
            // Rows from 4 start on a 16-byte boundary, so that slice is a float8 view; rows from 3 are copied.
            let view = try graph.slice(w, axis: 0, start: 4, length: 2)
            let outputs = try graph.run([
                graph.transpose(w, 0, 1), graph.slice(w, axis: 0, start: 3, length: 2),
                graph.slice(w, axis: 1, start: 1, length: 5), graph.concat([w, w], axis: 0), graph.add(w, x),
                graph.layerNorm(
                    x, weight: graph.reshape(graph.slice(view, axis: 0, start: 0, length: 1), [44]),
                    bias: nil),
                graph.flip(w, axis: 1), view,
            ])
            let transposed = (0..<44).flatMap { c in (0..<6).map { r in weights[r * 44 + c] } }
            XCTAssertEqual(try outputs[0].floats(), transposed, "\(dtype) transpose")
            XCTAssertEqual(try outputs[1].floats(), Array(weights[(3 * 44)..<(5 * 44)]), "\(dtype) row slice")
            XCTAssertEqual(
                try outputs[2].floats(), (0..<6).flatMap { r in weights[(r * 44 + 1)..<(r * 44 + 6)] },
                "\(dtype) column slice")
            XCTAssertEqual(try outputs[3].floats(), weights + weights, "\(dtype) concat")
            XCTAssertEqual(try outputs[4].floats(), zip(weights, other).map { $0 + $1 }, "\(dtype) add")
            XCTAssertEqual(outputs[7].dtype, dtype, "a word-aligned slice stays a float8 view")
            XCTAssertEqual(try outputs[7].floats(), Array(weights[(4 * 44)..<(6 * 44)]), "\(dtype) view")
            let normWeight = Array(weights[(4 * 44)..<(5 * 44)])
            let normalized = (0..<6).flatMap { r -> [Double] in
                let row = other[(r * 44)..<(r * 44 + 44)].map(Double.init)
                let mean = row.reduce(0, +) / 44
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 44
                return row.enumerated().map { ($1 - mean) / (variance + 1e-5).squareRoot() * Double(normWeight[$0]) }
            }
            assertClose(try outputs[5].floats(), normalized, tolerance: 1e-5, "\(dtype) layer norm weight")
            XCTAssertEqual(
                try outputs[6].floats(), (0..<6).flatMap { r in weights[(r * 44)..<(r * 44 + 44)].reversed() },
                "\(dtype) flip")
        }
    }

    func testNoOpWritesFloat8AndOnlyFloat8TensorsTakeAFiniteScale() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(4), shape: [4])
        XCTAssertThrowsError(try graph.cast(x, to: .f8e4m3fn)) { error in
            XCTAssertEqual(
                error as? TensorError,
                .dtypeMismatch(
                    op: "cast", dtypes: [.f32, .f8e4m3fn],
                    reason: "float8 is a weight storage type that no op writes"))
        }
        let bytes = [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(
            try bytes.withUnsafeBytes {
                try Tensor(bytes: $0, shape: [4], dtype: .f16, scale: 2, on: device)
            }
        ) { XCTAssertTrue("\($0)".contains("only float8"), "\($0)") }
        XCTAssertThrowsError(try float8Tensor([0, 0], shape: [2], dtype: .f8e5m2, scale: .infinity)) {
            XCTAssertTrue("\($0)".contains("finite"), "\($0)")
        }
    }
}

final class Float8MatmulTests: Float8TestCase {
    private let strategies: [MatmulStrategy] = [.sharedMemory, .direct]

    func testEveryFloat8ByteReachesTheProductExactlyScaled() throws {
        // A is the identity, so C = op(B) · scale element by element: each byte's decoding is checked exactly.
        let (k, n) = (53, 29)
        let identity = (0..<k * k).map { Float($0 / k == $0 % k ? 1 : 0) }
        for dtype in Self.float8Types {
            let scale: Float = 0.8125
            let bytes = finiteBytes(k * n, dtype)
            let weights = expectedWeights(bytes, dtype, scale: scale)
            for transposeB in [false, true] {
                for strategy in strategies {
                    let graph = makeGraph()
                    graph.matmulStrategy = strategy
                    let b = try float8Tensor(bytes, shape: transposeB ? [n, k] : [k, n], dtype: dtype, scale: scale)
                    let c = try graph.run([
                        graph.matmul(
                            graph.input(identity, shape: [k, k]), graph.input(b),
                            transposeB: transposeB)
                    ])[0].floats()
                    let expected = (0..<k * n).map { transposeB ? weights[($0 % n) * k + $0 / n] : weights[$0] }
                    XCTAssertEqual(c.map(Double.init), expected, "\(dtype) transposeB \(transposeB) \(strategy)")
                }
            }
        }
    }

    func testFloat8MatmulWithABiasOfEachTypeMatchesTheReferenceOnAwkwardSizes() throws {
        let (m, k, n) = (37, 53, 29)
        for dtype in Self.float8Types {
            // Scales that bring e4m3fn (±448) and e5m2 (±57344) to a few units, as ComfyUI's converters do.
            let scale: Float = dtype == .f8e4m3fn ? 0.0371 : 3.1e-4
            let bytes = finiteBytes(k * n, dtype)
            let weights = expectedWeights(bytes, dtype, scale: scale).map { Float($0) }
            let a = randomValues(m * k)
            for biasType in [DType.f32, .f16, .bf16, .f8e4m3fn] {
                let bias = randomValues(n).map { HostConversionMirror.rounded($0, to: biasType) }
                for transposeB in [false, true] {
                    for strategy in strategies {
                        let graph = makeGraph()
                        graph.matmulStrategy = strategy
                        let layout = transposeB ? (0..<n * k).map { bytes[($0 % k) * n + $0 / k] } : bytes
                        let b = try float8Tensor(
                            layout, shape: transposeB ? [n, k] : [k, n], dtype: dtype,
                            scale: scale)
                        let c = try graph.matmul(
                            graph.input(a, shape: [m, k]), graph.input(b), transposeB: transposeB,
                            bias: graph.input(bias, shape: [n], dtype: biasType))
                        let result = try graph.run([c])[0]
                        let expected = Reference.matmul(
                            a, weights, batch: 1, batchB: 1, m: m, n: n, k: k,
                            transposeB: false, bias: bias)
                        assertClose(
                            try result.floats(), expected, tolerance: 1e-6,
                            "\(dtype) bias \(biasType) transposeB \(transposeB) \(strategy)")
                    }
                }
            }
        }
    }

    func testLinearReadsAFloat8WeightInPyTorchLayout() throws {
        let (rows, inputs, outputs) = (2 * 7, 33, 17)
        let x = randomValues(rows * inputs)
        let bias = randomValues(outputs).map { Float(Float16($0)) }
        let bytes = finiteBytes(outputs * inputs, .f8e4m3fn)
        let weight = try float8Tensor(bytes, shape: [outputs, inputs], dtype: .f8e4m3fn, scale: 0.01)
        let graph = makeGraph()
        let y = try graph.linear(
            graph.input(x, shape: [2, 7, inputs]), weight: graph.input(weight),
            bias: graph.input(bias, shape: [outputs], dtype: .f16))
        let result = try graph.run([y])[0]
        XCTAssertEqual(result.shape, [2, 7, outputs])
        let expected = Reference.matmul(
            x, expectedWeights(bytes, .f8e4m3fn, scale: 0.01).map { Float($0) }, batch: 1,
            batchB: 1, m: rows, n: outputs, k: inputs, transposeB: true, bias: bias)
        assertClose(try result.floats(), expected, tolerance: 1e-6)
    }

    /// NaN bytes read as NaN, as `weight.to(dtype)` reads them in PyTorch, and e5m2's infinities as infinities: the
    /// output entries they feed are NaN or infinite (for the pipeline's non-finite checks to report), the rest exact.
    func testNaNAndInfinityBytesPoisonExactlyTheOutputsTheyFeed() throws {
        let (m, k, n) = (37, 53, 29)
        let a = randomValues(m * k).map { $0 == 0 ? 0.5 : $0 }
        for dtype in Self.float8Types {
            var bytes = finiteBytes(k * n, dtype)
            let poisoned = [5 * n + 3, 11 * n + 20] + (dtype == .f8e5m2 ? [9 * n + 7] : [])
            bytes[poisoned[0]] = 0x7F
            bytes[poisoned[1]] = 0xFF
            if dtype == .f8e5m2 { bytes[poisoned[2]] = 0x7C }
            let scale: Float = 0.5
            for strategy in strategies {
                let graph = makeGraph()
                graph.matmulStrategy = strategy
                let b = try float8Tensor(bytes, shape: [k, n], dtype: dtype, scale: scale)
                let c = try graph.run([graph.matmul(graph.input(a, shape: [m, k]), graph.input(b))])[0].floats()
                var finite = bytes
                for index in poisoned { finite[index] = 0 }
                let weights = expectedWeights(finite, dtype, scale: scale).map { Float($0) }
                let expected = Reference.matmul(a, weights, batch: 1, batchB: 1, m: m, n: n, k: k, transposeB: false)
                // fp32 accumulation error scales with the sum of the terms' magnitudes, not with the result.
                let magnitudes = Reference.matmul(
                    a.map(\.magnitude), weights.map(\.magnitude), batch: 1, batchB: 1,
                    m: m, n: n, k: k, transposeB: false)
                for row in 0..<m {
                    for column in 0..<n {
                        let value = c[row * n + column]
                        let label = "\(dtype) \(strategy) [\(row), \(column)]"
                        if column == 3 || column == 20 {
                            XCTAssertTrue(value.isNaN, label)
                        } else if column == 7 && dtype == .f8e5m2 {
                            XCTAssertEqual(value, a[row * k + 9] > 0 ? .infinity : -.infinity, label)
                        } else {
                            XCTAssertEqual(
                                Double(value), expected[row * n + column],
                                accuracy: 1e-6 * magnitudes[row * n + column], label)
                        }
                    }
                }
            }
        }
    }
}

final class Float8ConvTests: Float8TestCase {
    func testEveryFloat8ByteOfAConvKernelReachesTheOutputExactlyScaled() throws {
        try eachConvolutionStrategy {
            // Sample c of the batch is 1 at the centre of channel c and 0 elsewhere, so with padding 1 the output at
            // (co, 2 - ky, 2 - kx) is weight[co, c, ky, kx] · scale: every tap of every channel, exactly.
            let (inChannels, outChannels, side) = (5, 9, 5)
            var x = [Float](repeating: 0, count: inChannels * inChannels * side * side)
            for c in 0..<inChannels { x[(c * inChannels + c) * side * side + 2 * side + 2] = 1 }
            for dtype in Self.float8Types {
                let scale: Float = -1.25
                let bytes = finiteBytes(outChannels * inChannels * 9, dtype)
                let weights = expectedWeights(bytes, dtype, scale: scale)
                let graph = makeGraph()
                let w = try float8Tensor(bytes, shape: [outChannels, inChannels, 3, 3], dtype: dtype, scale: scale)
                let y = try graph.run([
                    graph.conv2d(
                        graph.input(x, shape: [inChannels, inChannels, side, side]),
                        weight: graph.input(w), padding: (1, 1))
                ])[0].floats()
                for c in 0..<inChannels {
                    for co in 0..<outChannels {
                        // Winograd's transforms round (measured up to 2.5e-6 of the kernel's largest tap, at the
                        // corner of a 4×4 tile); the other kernels are exact.
                        let kernel = weights[(co * inChannels + c) * 9..<(co * inChannels + c + 1) * 9]
                        let accuracy = convolutionStrategy == .winograd ? 1e-5 * kernel.map(abs).max()! : 0
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let output = ((c * outChannels + co) * side + 2 - ky + 1) * side + 2 - kx + 1
                                XCTAssertEqual(
                                    Double(y[output]), weights[((co * inChannels + c) * 3 + ky) * 3 + kx],
                                    accuracy: accuracy, "\(dtype) co \(co) ci \(c) tap \(ky) \(kx)")
                            }
                        }
                    }
                }
            }
        }
    }

    func testFloat8ConvolutionsInEveryKernelModeMatchTheReference() throws {
        try eachConvolutionStrategy {
            for dtype in Self.float8Types {
                let scale: Float = dtype == .f8e4m3fn ? 0.0113 : 9e-5
                for biasType in [DType.f32, .f16, .bf16] {
                    // A 3x3 gather with stride and groups, and a pointwise (plain GEMM) kernel.
                    for (kernel, stride, groups, inChannels, outChannels) in [
                        (3, 2, 1, 5, 13), (3, 1, 2, 6, 10),
                        (1, 1, 1, 33, 9),
                    ] {
                        let (batch, height, width) = (2, 11, 7)
                        let x = randomValues(batch * inChannels * height * width)
                        let count = outChannels * inChannels / groups * kernel * kernel
                        let bytes = finiteBytes(max(count, 256), dtype).prefix(count).map { $0 }
                        let weights = expectedWeights(bytes, dtype, scale: scale).map { Float($0) }
                        let bias = randomValues(outChannels).map { HostConversionMirror.rounded($0, to: biasType) }
                        let padding = kernel / 2
                        let graph = makeGraph()
                        let w = try float8Tensor(
                            bytes, shape: [outChannels, inChannels / groups, kernel, kernel],
                            dtype: dtype, scale: scale)
                        let y = try graph.conv2d(
                            graph.input(x, shape: [batch, inChannels, height, width]), weight: graph.input(w),
                            bias: graph.input(bias, shape: [outChannels], dtype: biasType), stride: (stride, stride),
                            padding: (padding, padding), groups: groups)
                        let geometry = ConvReference.Geometry(
                            kernel: [1, kernel, kernel], stride: [1, stride, stride], padBefore: [0, padding, padding],
                            padAfter: [0, padding, padding], groups: groups)
                        let expected = ConvReference.convolution(
                            x, shape: [batch, inChannels, 1, height, width], weight: weights, outChannels: outChannels,
                            bias: bias, geometry: geometry)
                        assertClose(
                            try graph.run([y])[0].floats(), expected.values, tolerance: 1e-6,
                            "\(dtype) bias \(biasType) kernel \(kernel) stride \(stride) groups \(groups)")
                    }
                }
                // The transposed 1-D kernel (a gather per output phase).
                let (batch, inChannels, length, outChannels, taps) = (2, 7, 13, 5, 8)
                let x = randomValues(batch * inChannels * length)
                let bytes = finiteBytes(max(inChannels * outChannels * taps, 256), dtype)
                    .prefix(inChannels * outChannels * taps).map { $0 }
                let weights = expectedWeights(bytes, dtype, scale: scale).map { Float($0) }
                let bias = randomValues(outChannels)
                let graph = makeGraph()
                let w = try float8Tensor(bytes, shape: [inChannels, outChannels, taps], dtype: dtype, scale: scale)
                let y = try graph.convTranspose1d(
                    graph.input(x, shape: [batch, inChannels, length]), weight: graph.input(w),
                    bias: graph.input(bias, shape: [outChannels]), stride: 4, padding: 2)
                let expected = ConvReference.convTranspose1d(
                    x, shape: [batch, inChannels, length], weight: weights, kernel: taps, outPerGroup: outChannels,
                    bias: bias, stride: 4, padding: 2, outputPadding: 0, dilation: 1, groups: 1)
                assertClose(try graph.run([y])[0].floats(), expected.values, tolerance: 1e-6, "\(dtype) transposed")
            }
        }
    }
}

final class Float8CooperativeMatrixTests: Float8TestCase {
    func testFloat8TensorCoreKernelsAreBuiltForEveryBiasType() throws {
        let glslang = "/opt/kinora/glslang/cmeel.prefix/bin/glslangValidator"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: glslang), "glslang 13 not installed")
        for dtype in Self.float8Types {
            for bias in ["f32", "f16", "bf16"] {
                XCTAssertNotNil(ShaderLibrary.spirv(named: "matmul_coopmat.\(dtype.rawValue)_\(bias)"), "\(dtype)")
            }
        }
    }

    func testFloat8TensorCoreKernelMatchesTheReferenceWhereTheDeviceHasIt() throws {
        try XCTSkipUnless(device.physical.features.cooperativeMatrix, "no VK_KHR_cooperative_matrix on this device")
        let (m, k, n) = (70, 53, 90)
        for dtype in Self.float8Types {
            // A scale that would take e5m2's largest values past f16: the kernel must scale the product, not the tile.
            let scale: Float = dtype == .f8e4m3fn ? 0.0371 : 4
            let bytes = finiteBytes(k * n, dtype)
            let a = randomValues(m * k).map { Float(Float16($0)) }
            let bias = randomValues(n)
            let graph = makeGraph()
            graph.matmulStrategy = .cooperativeMatrix
            let b = try float8Tensor(bytes, shape: [n, k], dtype: dtype, scale: scale)
            let c = try graph.matmul(
                graph.input(a, shape: [m, k]), graph.input(b), transposeB: true,
                bias: graph.input(bias, shape: [n]))
            let expected = Reference.matmul(
                a, expectedWeights(bytes, dtype, scale: scale).map { Float($0) }, batch: 1,
                batchB: 1, m: m, n: n, k: k, transposeB: true, bias: bias)
            assertClose(try graph.run([c])[0].floats(), expected, tolerance: 1e-5, "\(dtype)")
        }
    }
}

