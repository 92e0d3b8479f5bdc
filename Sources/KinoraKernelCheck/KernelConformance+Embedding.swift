import KinoraReference
import KinoraTensor

/// Rotary position embeddings (Wan's three axes with offsets, interleaved and half-split pairs; one axis over
/// flattened heads) and the diffusers timestep embedding.
extension KernelConformance {
    static func embeddingCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for interleaved in [true, false] {
            cases.append(ConformanceCase(name: "rotary 3-axis 2x(2x3x5)x3x36 interleaved \(interleaved)",
                                         tolerance: 1e-6) { context in
                let (batch, frames, height, width, heads, dim) = (2, 2, 3, 5, 3, 36)
                let length = frames * height * width
                let splits = RotaryPositions.wanSplits(headDim: dim)
                let positions = RotaryPositions.grid(frames: frames, height: height, width: width, frameOffset: 7,
                                                     heightOffset: 1, widthOffset: 2)
                let x = context.values(batch * length * heads * dim)
                let graph = context.graph()
                let table = try graph.rotaryTable(positions, headDim: dim, splits: splits, theta: 10000)
                let y = try graph.applyRotary(graph.input(x, shape: [batch, length, heads, dim]), cos: table.cos,
                                              sin: table.sin, interleaved: interleaved)
                let expected = LayoutReference.rotary(x, shape: [batch, length, heads, dim],
                                                      positions: positions.coordinates, splits: splits,
                                                      theta: 10000, interleaved: interleaved)
                return .init(actual: try graph.run([y])[0].floats(), expected: expected)
            })
        }
        cases.append(ConformanceCase(name: "rotary 1-axis 1x7x(2x130) flattened heads", tolerance: 1e-6) { context in
            let (length, heads, dim) = (7, 2, 130)
            let positions = RotaryPositions.sequence(count: length, offset: 33)
            let x = context.values(length * heads * dim)
            let graph = context.graph()
            let table = try graph.rotaryTable(positions, headDim: dim, theta: 500_000)
            let y = try graph.applyRotary(graph.input(x, shape: [1, length, heads * dim]), cos: table.cos,
                                          sin: table.sin, heads: heads, interleaved: false)
            let expected = LayoutReference.rotary(x, shape: [1, length, heads, dim], positions: positions.coordinates,
                                                  splits: [dim], theta: 500_000, interleaved: false)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        })
        // fp32 arguments of up to ~2500 radians carry ~1e-4 absolute rounding, as in PyTorch.
        cases.append(ConformanceCase(name: "timestep-embedding 6 timesteps dim 320", tolerance: 1e-4) { context in
            let timesteps: [Float] = [0, 1, 17.5, 999, 500.25, 3]
            let graph = context.graph()
            let y = try graph.timestepEmbedding(graph.input(timesteps, shape: [timesteps.count]), dim: 320,
                                                flipSinToCos: true, downscaleFreqShift: 0)
            let expected = LayoutReference.timestepEmbedding(timesteps, dim: 320, flipSinToCos: true,
                                                             downscaleFreqShift: 0, scale: 1, maxPeriod: 10000)
            return .init(actual: try graph.run([y])[0].floats(), expected: expected)
        })
        return cases
    }
}
