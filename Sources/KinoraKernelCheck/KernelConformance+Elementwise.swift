import KinoraReference
import KinoraTensor

/// Every unary function (with its fused `alpha · x + beta`), every broadcasting binary op, and the casts to 16 bits.
extension KernelConformance {
    static func elementwiseCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        let positiveOnly: Set<Graph.UnaryFunction> = [.sqrt, .log, .reciprocal]
        for function in Graph.UnaryFunction.allCases {
            cases.append(ConformanceCase(name: "unary \(function) 1031", tolerance: 2e-6) { context in
                let x = context.values(1031, scale: 4).map {
                    positiveOnly.contains(function) ? Swift.abs($0) + 0.2 : $0
                }
                let graph = context.graph()
                let y = try graph.unary(function, graph.input(x, shape: [x.count]), alpha: 1.5, beta: -0.25)
                return .init(actual: try graph.run([y])[0].floats(),
                             expected: x.map { ElementwiseReference.unary(function, Double($0) * 1.5 - 0.25) })
            })
        }
        let (shapeA, shapeB) = ([2, 3, 1, 130], [2, 1, 7, 1])
        for function in Graph.BinaryFunction.allCases {
            let name = "binary \(function) 2x3x1x130 with 2x1x7x1"
            cases.append(ConformanceCase(name: name, tolerance: 1e-6) { context in
                let a = context.values(shapeA.reduce(1, *))
                let b = context.values(shapeB.reduce(1, *)).map { function == .divide ? $0 + 2.5 : $0 }
                let graph = context.graph()
                let y = try graph.binary(function, graph.input(a, shape: shapeA), graph.input(b, shape: shapeB))
                return .init(actual: try graph.run([y])[0].floats(),
                             expected: ElementwiseReference.binary(function, a, shape: shapeA, b, shape: shapeB))
            })
        }
        for dtype in [DType.f16, .bf16] {
            // Exact: each value must round to nearest even as the host does.
            cases.append(ConformanceCase(name: "cast f32->\(dtype.rawValue)->f32 4099", tolerance: 0,
                                         halfExemption: "a cast names its storage types") { context in
                let x = context.values(4099, scale: 300)
                let graph = context.graph()
                let y = try graph.cast(graph.cast(graph.input(x, shape: [x.count]), to: dtype), to: .f32)
                return .init(actual: try graph.run([y])[0].floats(),
                             expected: x.map { Double(HostConversionMirror.rounded($0, to: dtype)) })
            })
        }
        return cases
    }
}
