import KinoraReference
import KinoraTensor

/// Data movement, which must be exact: the tiled transpose and the strided gather behind permute and slice, concat,
/// nearest upsampling, padding in every mode, flip, and writes into a tensor in place. A move keeps its input's storage
/// type, so the cases whose name gives that type have no 16-bit-activation runs; the others move values stored in the
/// activation type (exactly: tolerance 0 holds in every type), and the mixed concat and the write convert.
extension KernelConformance {
    static func layoutCases() -> [ConformanceCase] {
        let namedType = "a move keeps its input's storage type, which the case names"
        var cases: [ConformanceCase] = []
        for (shape, order) in [([3, 70, 5, 33], [0, 2, 1, 3]), ([3, 70, 5, 33], [0, 3, 1, 2]),
                               ([130, 67], [1, 0])] {
            for dtype in [DType.f32, .f16] {
                let label = shape.map(String.init).joined(separator: "x")
                cases.append(ConformanceCase(name: "permute \(label) \(order) \(dtype.rawValue)", tolerance: 0,
                                             halfExemption: namedType) { c in
                    let x = c.values(shape.reduce(1, *), roundedTo: dtype)
                    let graph = c.graph()
                    let y = try graph.cast(graph.permute(graph.input(x, shape: shape, dtype: dtype), order), to: .f32)
                    return .init(actual: try graph.run([y])[0].floats(),
                                 expected: LayoutReference.permute(x, shape: shape, order: order))
                })
            }
        }
        cases.append(ConformanceCase(name: "slice 5x33x7 axis 1 from 3 length 17", tolerance: 0) { context in
            let shape = [5, 33, 7]
            let x = context.values(shape.reduce(1, *), roundedTo: context.activations)
            let graph = context.graph()
            let y = try graph.slice(graph.input(x, shape: shape, dtype: context.activations), axis: 1, start: 3,
                                    length: 17)
            return .init(actual: try graph.run([y])[0].floats(),
                         expected: LayoutReference.slice(x, shape: shape, axis: 1, start: 3, length: 17))
        })
        cases.append(ConformanceCase(name: "concat 2x{3,7,1}x33 axis 1", tolerance: 0) { context in
            let pieces = [3, 7, 1].map { ([2, $0, 33], context.values(2 * $0 * 33, roundedTo: context.activations)) }
            let graph = context.graph()
            let y = try graph.concat(pieces.map { try graph.input($0.1, shape: $0.0, dtype: context.activations) },
                                     axis: 1)
            return .init(actual: try graph.run([y])[0].floats(),
                         expected: LayoutReference.concat(pieces.map { ($0.1, $0.0) }, axis: 1))
        })
        // Inputs of different types are converted to the activation type (rounding the f32 one in 16-bit runs).
        cases.append(ConformanceCase(name: "concat 2x{3 f32,7 bf16}x33 axis 1", tolerance: 0) { context in
            let wide = context.values(2 * 3 * 33), narrow = context.values(2 * 7 * 33, roundedTo: .bf16)
            let graph = context.graph()
            let y = try graph.concat([graph.input(wide, shape: [2, 3, 33]),
                                      graph.input(narrow, shape: [2, 7, 33], dtype: .bf16)], axis: 1)
            return .init(actual: try graph.run([y])[0].floats(),
                         expected: LayoutReference.concat([(wide, [2, 3, 33]), (narrow, [2, 7, 33])], axis: 1))
        })
        cases.append(ConformanceCase(name: "upsample-nearest 2x3x7x9 by 2x3", tolerance: 0) { context in
            let shape = [2, 3, 7, 9]
            let x = context.values(shape.reduce(1, *), roundedTo: context.activations)
            let graph = context.graph()
            let y = try graph.upsampleNearest(graph.input(x, shape: shape, dtype: context.activations), factorH: 2,
                                              factorW: 3)
            return .init(actual: try graph.run([y])[0].floats(),
                         expected: LayoutReference.upsample(x, shape: shape, factorH: 2, factorW: 3))
        })
        for mode in Graph.PadMode.allCases {
            cases.append(ConformanceCase(name: "pad \(mode) 3x5x7 left 3 right 2 bf16", tolerance: 0,
                                         halfExemption: namedType) { context in
                let shape = [3, 5, 7]
                let x = context.values(shape.reduce(1, *), roundedTo: .bf16)
                let graph = context.graph()
                let y = try graph.cast(graph.pad(graph.input(x, shape: shape, dtype: .bf16), left: 3, right: 2,
                                                 mode: mode), to: .f32)
                return .init(actual: try graph.run([y])[0].floats(),
                             expected: LayoutReference.pad(x, length: 7, left: 3, right: 2, mode: mode))
            })
        }
        cases.append(ConformanceCase(name: "flip 3x193x11 axis 1 f16", tolerance: 0,
                                     halfExemption: namedType) { context in
            let shape = [3, 193, 11]
            let x = context.values(shape.reduce(1, *), roundedTo: .f16)
            let graph = context.graph()
            let y = try graph.cast(graph.flip(graph.input(x, shape: shape, dtype: .f16), axis: 1), to: .f32)
            let expected = (0..<x.count).map { index -> Double in
                let position = index / 11 % 193
                return Double(x[index + (192 - 2 * position) * 11])
            }
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        })
        // The source is in the activation type: converted by the write kernel from f32 and bf16, moved from f16.
        cases.append(ConformanceCase(name: "write 2x3x33 into 2x11x33 at 5 f16", tolerance: 0) { context in
            let initial = context.values(2 * 11 * 33, roundedTo: .f16)
            let stored = context.values(2 * 3 * 33, roundedTo: .f16)
                .map { HostConversionMirror.rounded($0, to: context.activations) }
            let source = stored.map { HostConversionMirror.rounded($0, to: .f16) }
            let target = try Tensor(initial, shape: [2, 11, 33], dtype: .f16, on: context.device)
            let graph = context.graph()
            try graph.write(graph.input(stored, shape: [2, 3, 33], dtype: context.activations),
                            into: graph.input(target), axis: 1, start: 5)
            _ = try graph.run([try graph.scale(graph.input(target), by: 1)])
            var expected = initial.map(Double.init)
            for b in 0..<2 {
                for row in 0..<3 {
                    for column in 0..<33 {
                        expected[(b * 11 + 5 + row) * 33 + column] = Double(source[(b * 3 + row) * 33 + column])
                    }
                }
            }
            return .init(actual: try target.floats(), expected: expected)
        })
        return cases
    }
}
