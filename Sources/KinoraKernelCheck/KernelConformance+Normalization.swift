import KinoraReference
import KinoraTensor

/// Softmax, group, layer, RMS and channel norms (statistics split over workgroups on long rows; softmax and the
/// first three with a workgroup per row and with an invocation per row), and reductions.
extension KernelConformance {
    static func normalizationCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = [
            ConformanceCase(name: "softmax 3x7x1000 last axis", tolerance: 1e-6) { context in
                let shape = [3, 7, 1000]
                let x = context.values(shape.reduce(1, *), scale: 5)
                let graph = context.graph()
                let y = try graph.softmax(graph.input(x, shape: shape))
                return .init(actual: try graph.run([y])[0].floats(),
                             expected: AttentionReference.softmax(x, shape: shape, axis: 2))
            },
            ConformanceCase(name: "softmax 3x33x4 middle axis", tolerance: 1e-6) { context in
                let shape = [3, 33, 4]
                let x = context.values(shape.reduce(1, *), scale: 5)
                let graph = context.graph()
                let y = try graph.softmax(graph.input(x, shape: shape), axis: 1)
                return .init(actual: try graph.run([y])[0].floats(),
                             expected: AttentionReference.softmax(x, shape: shape, axis: 1))
            },
        ]
        // The second shape's 10,725-element groups split their statistics over several workgroups; its mean of
        // 300 defeats a naive E[x²] − E[x]². With 16-bit activations its shifted inputs are rounded before the
        // reference sees them: near 300, f16 keeps steps of 0.25 and bf16 of 2 of a ±3 spread, a loss of the
        // storage type (relative errors of ~4e-2 and ~3e-1) that the kernel's statistics are not to be blamed for.
        for (shape, groups, offset, dtype) in [([2, 64, 13, 17], 32, Float(0), DType.f16),
                                               ([1, 10, 33, 65], 2, 300, .bf16)] {
            let label = shape.map(String.init).joined(separator: "x")
            cases.append(ConformanceCase(name: "group-norm \(label) g\(groups) mean \(Int(offset)) \(dtype.rawValue)",
                                         tolerance: offset == 0 ? 1e-5 : 1e-4) { context in
                let channels = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
                let storage = offset == 0 ? DType.f32 : context.activations
                let x = context.values(shape.reduce(1, *), scale: 3).map {
                    HostConversionMirror.rounded($0 + offset, to: storage)
                }
                let weight = context.values(channels, roundedTo: dtype)
                let bias = context.values(channels, roundedTo: dtype)
                let graph = context.graph()
                let y = try graph.groupNorm(graph.input(x, shape: shape), groups: groups,
                                            weight: graph.input(weight, shape: [channels], dtype: dtype),
                                            bias: graph.input(bias, shape: [channels], dtype: dtype))
                return .init(actual: try graph.run([y])[0].floats(),
                             expected: NormReference.groupNorm(x, channels: channels, spatial: spatial, groups: groups,
                                                               weight: weight, bias: bias, epsilon: 1e-5))
            })
        }
        cases.append(ConformanceCase(name: "layer-norm 2x130x770 f16 per-token scale, per-sample shift",
                                     tolerance: 1e-5) { context in
            let (batch, tokens, width) = (2, 130, 770)
            let x = context.values(batch * tokens * width, scale: 2)
            let weight = context.values(width, roundedTo: .f16), bias = context.values(width, roundedTo: .f16)
            let scale = context.values(batch * tokens * width), shift = context.values(batch * width)
            let graph = context.graph()
            let y = try graph.layerNorm(graph.input(x, shape: [batch, tokens, width]),
                                        weight: graph.input(weight, shape: [width], dtype: .f16),
                                        bias: graph.input(bias, shape: [width], dtype: .f16), epsilon: 1e-6,
                                        scale: graph.input(scale, shape: [batch, tokens, width]),
                                        shift: graph.input(shift, shape: [batch, 1, width]))
            let expected = NormReference.layerNorm(x, width: width, weight: weight, bias: bias, epsilon: 1e-6,
                                                   scale: scale, shift: shift, shiftRow: { $0 / tokens })
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        })
        cases.append(ConformanceCase(name: "rms-norm 3x9000 bf16", tolerance: 1e-5) { context in
            let (rows, width) = (3, 9000)
            let x = context.values(rows * width, scale: 4), weight = context.values(width, roundedTo: .bf16)
            let graph = context.graph()
            let y = try graph.rmsNorm(graph.input(x, shape: [rows, width]),
                                      weight: graph.input(weight, shape: [width], dtype: .bf16))
            return .init(actual: try graph.run([y])[0].floats(),
                         expected: NormReference.rmsNorm(x, width: width, weight: weight, epsilon: 1e-6))
        })
        // Every row reduction above runs both ways: a workgroup per row (GPUs) and an invocation per row (CPUs).
        cases = cases.flatMap { row in
            [(ReductionStrategy.workgroup, "workgroup"), (.invocation, "per-invocation")].map { strategy, label in
                var named = row
                let words = row.name.split(separator: " ", maxSplits: 1)
                named.name = "\(words[0]) \(label) \(words[1])"
                named.compare = { context in
                    context.reduction = strategy
                    defer { context.reduction = .automatic }
                    return try row.compare(context)
                }
                return named
            }
        }
        cases.append(ConformanceCase(name: "channel-rms-norm 2x37x3x130 f16", tolerance: 1e-6) { context in
            let shape = [2, 37, 3, 130], channels = 37
            let x = context.values(shape.reduce(1, *), scale: 3)
            let weight = context.values(channels, scale: 2, roundedTo: .f16)
            let bias = context.values(channels, roundedTo: .f16)
            let graph = context.graph()
            let y = try graph.channelRMSNorm(graph.input(x, shape: shape),
                                             weight: graph.input(weight, shape: [channels, 1, 1], dtype: .f16),
                                             bias: graph.input(bias, shape: [channels], dtype: .f16))
            let expected = NormReference.channelRMSNorm(x, shape: shape, weight: weight, bias: bias,
                                                        scale: Double(channels).squareRoot(), epsilon: 1e-12)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        })
        // A sum of thousands of signed values cancels: its relative error grows with the cancellation (a sum of 5000
        // values in ±3 may come out near 5), so the half runs of sum and mean read inputs already in the activation
        // type, and what they measure is the f32 accumulation and the one rounding of the result.
        for (reduction, kind) in [(Graph.Reduction.sum, "sum"), (.mean, "mean"), (.maximum, "max"), (.minimum, "min")] {
            let sums = kind == "sum" || kind == "mean"
            for (shape, axis) in [([3, 1000, 33], 1), ([2, 5000], 1), ([4100, 3], 0), ([2, 3, 7, 5], 3)] {
                let label = shape.map(String.init).joined(separator: "x")
                cases.append(ConformanceCase(name: "reduce \(kind) \(label) axis \(axis)",
                                             tolerance: sums ? 1e-5 : 1e-6) { context in
                    let x = context.values(shape.reduce(1, *), scale: 3, roundedTo: sums ? context.activations : .f32)
                    let graph = context.graph()
                    let y = try graph.reduce(reduction, graph.input(x, shape: shape), axis: axis)
                    return .init(actual: try graph.run([y])[0].floats(),
                                 expected: LayoutReference.reduce(x, shape: shape, axis: axis, kind: kind))
                })
            }
        }
        return cases
    }
}
