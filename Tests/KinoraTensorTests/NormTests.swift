import KinoraReference
@testable import KinoraTensor
import XCTest

final class NormTests: TensorTestCase {
    /// Uploads `values` in `dtype` and returns the tensor with the values as the device stores them.
    private func parameter(_ values: [Float], dtype: DType) throws -> (tensor: Tensor, stored: [Float]) {
        let tensor = try Tensor(values, shape: [values.count], dtype: dtype, on: device)
        return (tensor, try tensor.floats())
    }

    func testGroupNormMatchesReferenceOnOddChannelCountsWithWeightsInEveryType() throws {
        try eachReductionStrategy {
            // The last shape has 10,725-element groups, so its statistics are split over several workgroups.
            let cases: [(shape: [Int], groups: Int)] = [([1, 6, 7], 3), ([2, 9, 5, 3], 3), ([3, 7, 1], 7),
                                                        ([2, 1, 4], 1), ([1, 10, 33, 65], 2)]
            for dtype in DType.allCases {
                for (shape, groups) in cases {
                    let channels = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
                    let input = randomValues(shape.reduce(1, *), scale: 3)
                    let weight = try parameter(randomValues(channels), dtype: dtype)
                    let bias = try parameter(randomValues(channels), dtype: dtype)
                    let graph = makeGraph()
                    let y = try graph.groupNorm(graph.input(input, shape: shape), groups: groups,
                                                weight: graph.input(weight.tensor), bias: graph.input(bias.tensor))
                    let result = try graph.run([y])[0]
                    XCTAssertEqual(result.shape, shape)
                    let expected = NormReference.groupNorm(input, channels: channels, spatial: spatial, groups: groups,
                                                           weight: weight.stored, bias: bias.stored, epsilon: 1e-5)
                    assertClose(try result.floats(), expected, tolerance: 1e-5,
                                "\(dtype) \(shape) groups \(groups) \(reductionStrategy)")
                }
            }
        }
    }

    func testGroupNormWithoutAffineOrWithOnlyOneParameterMatchesReference() throws {
        try eachReductionStrategy {
            let shape = [2, 12, 5, 7], groups = 4
            let input = randomValues(shape.reduce(1, *)), weight = randomValues(12), bias = randomValues(12)
            for (useWeight, useBias) in [(false, false), (true, false), (false, true)] {
                let graph = makeGraph()
                let y = try graph.groupNorm(graph.input(input, shape: shape), groups: groups,
                                            weight: useWeight ? graph.input(weight, shape: [12]) : nil,
                                            bias: useBias ? graph.input(bias, shape: [12]) : nil, epsilon: 1e-3)
                let expected = NormReference.groupNorm(input, channels: 12, spatial: 35, groups: groups,
                                                       weight: useWeight ? weight : nil, bias: useBias ? bias : nil,
                                                       epsilon: 1e-3)
                assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-5,
                            "weight \(useWeight) bias \(useBias)")
            }
        }
    }

    func testGroupNormStatisticsStayAccurateOnLongRowsWithALargeMean() throws {
        try eachReductionStrategy {
            // Naive fp32 E[x²] − E[x]² loses most digits here; Welford/Chan merging must not.
            let shape = [1, 4, 130, 131], groups = 2
            let input = randomValues(shape.reduce(1, *)).map { $0 + 300 }
            let graph = makeGraph()
            let y = try graph.groupNorm(graph.input(input, shape: shape), groups: groups, weight: nil, bias: nil)
            let expected = NormReference.groupNorm(input, channels: 4, spatial: 130 * 131, groups: groups, weight: nil,
                                                   bias: nil, epsilon: 1e-5)
            assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-4, "\(reductionStrategy)")
        }
    }

    func testLayerNormMatchesReferenceWithAffineInEveryType() throws {
        try eachReductionStrategy {
            let shapes: [[Int]] = [[2, 7, 33], [130, 40], [3, 1], [1, 1000]]
            for dtype in DType.allCases {
                for shape in shapes {
                    let width = shape.last!
                    let input = randomValues(shape.reduce(1, *), scale: 2)
                    let weight = try parameter(randomValues(width), dtype: dtype)
                    let bias = try parameter(randomValues(width), dtype: dtype)
                    let graph = makeGraph()
                    let y = try graph.layerNorm(graph.input(input, shape: shape), weight: graph.input(weight.tensor),
                                                bias: graph.input(bias.tensor))
                    let expected = NormReference.layerNorm(input, width: width, weight: weight.stored,
                                                           bias: bias.stored, epsilon: 1e-5)
                    assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-5,
                                "\(dtype) \(shape) \(reductionStrategy)")
                }
            }
        }
    }

    func testLayerNormAppliesPerSampleAndPerTokenModulation() throws {
        try eachReductionStrategy {
            let (batch, tokens, width) = (2, 7, 33)
            let input = randomValues(batch * tokens * width)
            let weight = randomValues(width), bias = randomValues(width)
            let modulationShapes: [[Int]] = [[batch, width], [batch, 1, width], [batch, tokens, width], [width]]
            for shape in modulationShapes {
                let scale = randomValues(shape.reduce(1, *)), shift = randomValues(shape.reduce(1, *))
                let row: (Int) -> Int
                switch shape.count {
                case 1: row = { _ in 0 }
                case 3 where shape[1] == tokens: row = { $0 }
                default: row = { $0 / tokens }
                }
                for affine in [false, true] {
                    let graph = makeGraph()
                    let y = try graph.layerNorm(graph.input(input, shape: [batch, tokens, width]),
                                                weight: affine ? graph.input(weight, shape: [width]) : nil,
                                                bias: affine ? graph.input(bias, shape: [width]) : nil, epsilon: 1e-6,
                                                scale: graph.input(scale, shape: shape),
                                                shift: graph.input(shift, shape: shape))
                    let expected = NormReference.layerNorm(input, width: width, weight: affine ? weight : nil,
                                                           bias: affine ? bias : nil, epsilon: 1e-6, scale: scale,
                                                           shift: shift, modulationRow: row)
                    assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-5,
                                "\(shape) affine \(affine) \(reductionStrategy)")
                }
            }
            let perToken = randomValues(batch * tokens * width), perSample = randomValues(batch * width)
            let graph = makeGraph()
            let x = try graph.input(input, shape: [batch, tokens, width])
            let shiftOnly = try graph.layerNorm(x, weight: nil, bias: nil,
                                                shift: graph.input(perSample, shape: [batch, width]))
            let mixed = try graph.layerNorm(x, weight: nil, bias: nil,
                                            scale: graph.input(perToken, shape: [batch, tokens, width]),
                                            shift: graph.input(perSample, shape: [batch, 1, width]))
            let results = try graph.run([shiftOnly, mixed])
            assertClose(try results[0].floats(),
                        NormReference.layerNorm(input, width: width, weight: nil, bias: nil, epsilon: 1e-5,
                                                shift: perSample, modulationRow: { $0 / tokens }),
                        tolerance: 1e-5, "shift only \(reductionStrategy)")
            assertClose(try results[1].floats(),
                        NormReference.layerNorm(input, width: width, weight: nil, bias: nil, epsilon: 1e-5,
                                                scale: perToken, shift: perSample, shiftRow: { $0 / tokens }),
                        tolerance: 1e-5, "per-token scale, per-sample shift \(reductionStrategy)")
        }
    }

    func testRMSNormMatchesReferenceWithWeightsInEveryType() throws {
        try eachReductionStrategy {
            // 9,000-wide rows take the split-statistics path.
            let shapes: [[Int]] = [[5, 7], [3, 130], [2, 9000], [1]]
            for dtype in DType.allCases {
                for shape in shapes {
                    let width = shape.last!
                    let input = randomValues(shape.reduce(1, *), scale: 4)
                    let weight = try parameter(randomValues(width), dtype: dtype)
                    let graph = makeGraph()
                    let y = try graph.rmsNorm(graph.input(input, shape: shape), weight: graph.input(weight.tensor))
                    let expected = NormReference.rmsNorm(input, width: width, weight: weight.stored, epsilon: 1e-6)
                    assertClose(try graph.run([y])[0].floats(), expected, tolerance: 1e-5,
                                "\(dtype) \(shape) \(reductionStrategy)")
                }
            }
            let input = randomValues(33)
            let graph = makeGraph()
            let y = try graph.rmsNorm(graph.input(input, shape: [33]), weight: nil)
            assertClose(try graph.run([y])[0].floats(),
                        NormReference.rmsNorm(input, width: 33, weight: nil, epsilon: 1e-6), tolerance: 1e-5,
                        "no weight \(reductionStrategy)")
        }
    }

    /// Each layout reaches the kernel: the row-per-invocation constant and a grid of invocations (8 a workgroup) or
    /// of workgroups, with rows enough for more than 65,535 workgroups, so that the grid has a second row.
    func testEachRowLayoutReachesTheKernelAndItsGridSpansMoreThan65535Workgroups() throws {
        try eachReductionStrategy {
            let perInvocation = reductionStrategy == .invocation
            let (rows, width) = (perInvocation ? 600_000 : 70_000, 3)
            let input = randomValues(rows * width, scale: 2)
            let graph = makeGraph()
            let x = try graph.input(input, shape: [rows, width])
            let normalised = try graph.layerNorm(x, weight: nil, bias: nil)
            let norm = try XCTUnwrap(graph.nodes.last?.call)
            let softmax = try graph.softmax(x)
            let rowSoftmax = try XCTUnwrap(graph.nodes.last?.call)
            XCTAssertEqual(norm.specialization.last, perInvocation ? 1 : 0, "\(reductionStrategy)")
            XCTAssertEqual(rowSoftmax.specialization.last, perInvocation ? 1 : 0, "\(reductionStrategy)")
            let workgroups = perInvocation ? rows / Graph.rowsPerReductionWorkgroup : rows
            for call in [norm, rowSoftmax] {
                XCTAssertEqual(Int(call.groups.x) * Int(call.groups.y), (workgroups + 65534) / 65535 * 65535)
                XCTAssertGreaterThan(call.groups.y, 1)
            }
            let results = try graph.run([normalised, softmax])
            assertClose(try results[0].floats(),
                        NormReference.layerNorm(input, width: width, weight: nil, bias: nil, epsilon: 1e-5),
                        tolerance: 1e-5, "layer norm \(reductionStrategy)")
            assertClose(try results[1].floats(), AttentionReference.softmax(input, shape: [rows, width], axis: 1),
                        tolerance: 1e-6, "softmax \(reductionStrategy)")
        }
    }

    func testBadNormShapesThrowNamingTheOp() throws {
        let graph = makeGraph()
        let image = try graph.input(randomValues(2 * 6 * 4), shape: [2, 6, 4])
        let tokens = try graph.input(randomValues(2 * 3 * 5), shape: [2, 3, 5])
        let five = try graph.input(randomValues(5), shape: [5])
        XCTAssertThrowsError(try graph.groupNorm(image, groups: 4, weight: nil, bias: nil)) { error in
            XCTAssertEqual(error as? TensorError,
                           .invalidArgument(op: "groupNorm", reason: "6 channels do not split into 4 groups"))
        }
        XCTAssertThrowsError(try graph.groupNorm(image, groups: 3, weight: five, bias: nil)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(op: "groupNorm", shapes: [[2, 6, 4], [5]],
                                                                 reason: "weight and bias need 6 elements"))
        }
        XCTAssertThrowsError(try graph.groupNorm(five, groups: 1, weight: nil, bias: nil)) { error in
            XCTAssertEqual(error as? TensorError,
                           .shapeMismatch(op: "groupNorm", shapes: [[5]], reason: "x must be [N, C, ...]"))
        }
        XCTAssertThrowsError(try graph.layerNorm(image, weight: five, bias: nil)) { error in
            guard case .shapeMismatch(let op, _, _)? = error as? TensorError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "layerNorm")
        }
        let badScale = try graph.input(randomValues(3 * 5), shape: [3, 5])
        XCTAssertThrowsError(try graph.layerNorm(tokens, weight: nil, bias: nil, scale: badScale)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(
                op: "layerNorm", shapes: [[2, 3, 5], [3, 5]],
                reason: "scale must be shaped like x, [B, D], [B, 1, D] or [D]"))
        }
        XCTAssertThrowsError(try graph.rmsNorm(image, weight: five)) { error in
            guard case .shapeMismatch(let op, _, _)? = error as? TensorError else { return XCTFail("\(error)") }
            XCTAssertEqual(op, "rmsNorm")
        }
    }
}
