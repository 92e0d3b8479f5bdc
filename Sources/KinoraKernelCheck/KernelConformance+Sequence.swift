import KinoraGPU
import KinoraReference
import KinoraTensor

/// The kernels of Piper's voices and the samplers' noise: the LSTM cell step by step, the rational-quadratic spline
/// both ways, and Philox normals against the host's implementation of the same stream.
extension KernelConformance {
    static func sequenceCases(for device: GPUDevice) -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for (steps, batch, inputSize, hidden, block, dtype) in [(19, 3, 5, 33, 4, DType.f32),
                                                                (11, 2, 16, 129, 5, .f16)] {
            let name = "lstm T\(steps) N\(batch) I\(inputSize) H\(hidden) blocks of \(block) \(dtype.rawValue)"
            // Its projections are matmuls: on a tensor-core GPU they round their operands to f16.
            let tolerance = device.automaticTensorCores ? tensorCoreTolerance : 1e-5
            cases.append(ConformanceCase(name: name, tolerance: tolerance) { context in
                let x = context.values(steps * batch * inputSize, scale: 2)
                let weightIH = context.values(4 * hidden * inputSize, scale: 0.6, roundedTo: dtype)
                let weightHH = context.values(4 * hidden * hidden, scale: 0.6, roundedTo: dtype)
                let biasIH = context.values(4 * hidden, scale: 0.5), biasHH = context.values(4 * hidden, scale: 0.5)
                let graph = context.graph()
                let h = try graph.lstm(
                    graph.input(x, shape: [steps, batch, inputSize]),
                    weightIH: graph.input(weightIH, shape: [4 * hidden, inputSize], dtype: dtype),
                    weightHH: graph.input(weightHH, shape: [4 * hidden, hidden], dtype: dtype),
                    biasIH: graph.input(biasIH, shape: [4 * hidden]), biasHH: graph.input(biasHH, shape: [4 * hidden]),
                    projectionSteps: block)
                let expected = RecurrentReference.lstm(
                    x, steps: steps, batch: batch, inputSize: inputSize, hidden: hidden, weightIH: weightIH,
                    weightHH: weightHH, biasIH: biasIH, biasHH: biasHH)
                return .init(actual: try graph.run([h])[0].floats(), expected: expected)
            })
        }
        for inverse in [false, true] {
            cases.append(ConformanceCase(name: "spline 3x37 bins 10 tail 5" + (inverse ? " inverse" : ""),
                                         tolerance: 1e-5) { context in
                let (count, bins, tailBound) = (3 * 37, 10, Float(5))
                // The spline multiplies a change of its inputs by its slope or, inverted, by 1 / slope, which the
                // steep and flat bins of these random parameters take past 100: rounding the inputs to 16 bits alone
                // would move some outputs by up to 0.9 (relative L2 errors up to 6e-2, in f16 as in bf16, over 40
                // seeds). So the 16-bit runs give the reference the inputs as stored, and measure the kernel: its
                // f32 arithmetic and the rounding of y.
                let stored = context.activations
                // Some inputs fall outside the tail bound and must pass through unchanged.
                let x = context.values(count, scale: tailBound * 1.3, roundedTo: stored)
                let widths = context.values(count * bins, scale: 3, roundedTo: stored)
                let heights = context.values(count * bins, scale: 3, roundedTo: stored)
                let derivatives = context.values(count * (bins - 1), scale: 3, roundedTo: stored)
                let graph = context.graph()
                let y = try graph.rationalQuadraticSpline(
                    graph.input(x, shape: [3, 37], dtype: stored),
                    widths: graph.input(widths, shape: [3, 37, bins], dtype: stored),
                    heights: graph.input(heights, shape: [3, 37, bins], dtype: stored),
                    derivatives: graph.input(derivatives, shape: [3, 37, bins - 1], dtype: stored),
                    tailBound: tailBound, inverse: inverse)
                let expected = (0..<count).map { i in
                    SplineReference.rationalQuadratic(
                        x[i], widths: widths[(i * bins)..<((i + 1) * bins)],
                        heights: heights[(i * bins)..<((i + 1) * bins)],
                        derivatives: derivatives[(i * (bins - 1))..<((i + 1) * (bins - 1))],
                        tailBound: Double(tailBound), inverse: inverse)
                }
                return .init(actual: try graph.run([y])[0].floats(), expected: expected)
            })
        }
        cases.append(ConformanceCase(name: "random-normal 1000x1031 at offset 2^34 - 6", tolerance: 1e-6) { context in
            let (count, offset) = (1000 * 1031, UInt64(1 << 34) - 6)
            let seed = context.random.next()
            let graph = context.graph()
            let y = try graph.randomNormal(shape: [1000, 1031], seed: seed, offset: offset)
            let expected = PhiloxNormal.host(count: count, seed: seed, offset: offset)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected.map(Double.init))
        })
        return cases
    }
}
