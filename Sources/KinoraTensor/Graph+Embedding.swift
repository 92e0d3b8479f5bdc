import Foundation

/// Positions for rotary embeddings: one coordinate per position and axis (1 axis for text, 3 for video t, h, w).
public struct RotaryPositions: Sendable, Equatable {
    /// `coordinates[l][axis]`: the position of token `l` along each axis.
    public let coordinates: [[Double]]

    /// Explicit coordinates; every position needs the same number of axes.
    public init(coordinates: [[Double]]) {
        self.coordinates = coordinates
    }

    /// Positions `offset ..< offset + count` on one axis (a text sequence, or the cached continuation of one).
    public static func sequence(count: Int, offset: Int = 0) -> RotaryPositions {
        RotaryPositions(coordinates: (0..<count).map { [Double(offset + $0)] })
    }

    /// A video latent grid of `frames × height × width` tokens in row-major (t, h, w) order, as Wan flattens
    /// patches. Each axis starts at its offset, so a chunk generated after cached frames uses `frameOffset` = the
    /// frames already generated.
    public static func grid(frames: Int, height: Int, width: Int, frameOffset: Int = 0, heightOffset: Int = 0,
                            widthOffset: Int = 0) -> RotaryPositions {
        var coordinates: [[Double]] = []
        coordinates.reserveCapacity(frames * height * width)
        for t in 0..<frames {
            for h in 0..<height {
                for w in 0..<width {
                    coordinates.append([Double(t + frameOffset), Double(h + heightOffset), Double(w + widthOffset)])
                }
            }
        }
        return RotaryPositions(coordinates: coordinates)
    }

    /// Wan's split of a head dimension over (t, h, w): `D - 4·(D/6)`, `2·(D/6)`, `2·(D/6)` elements.
    public static func wanSplits(headDim: Int) -> [Int] {
        let sixth = headDim / 6
        return [headDim - 4 * sixth, 2 * sixth, 2 * sixth]
    }

    /// The cos and sin tables, each [L, headDim / 2] row-major, computed in double precision and rounded to f32.
    ///
    /// The head dimension is split into consecutive bands of `splits[axis]` elements (`splits[axis] / 2` pairs),
    /// one band per axis. Pair `q` of the band of `axis` turns by `coordinates[l][axis] · theta^(-2q / splits[axis])`
    /// at position `l` (Wan's `rope_params`, Flux's `rope`, LLaMA with one axis). Column `p` of the tables is
    /// pair `p` of the head: elements (2p, 2p + 1) when interleaved, (p, p + D/2) in rotate-half style.
    public func table(headDim: Int, splits: [Int], theta: Double) throws -> (cos: [Float], sin: [Float]) {
        let op = "rotaryTable"
        guard headDim > 0, headDim % 2 == 0 else {
            throw TensorError.invalidArgument(op: op, reason: "head dimension \(headDim) must be even and positive")
        }
        guard !splits.isEmpty, splits.allSatisfy({ $0 >= 0 && $0 % 2 == 0 }), splits.reduce(0, +) == headDim else {
            throw TensorError.invalidArgument(op: op, reason: "splits \(splits) must be even and add up to the head "
                + "dimension \(headDim)")
        }
        guard !coordinates.isEmpty, coordinates.allSatisfy({ $0.count == splits.count }) else {
            throw TensorError.invalidArgument(op: op, reason: "every position needs \(splits.count) coordinates, "
                + "one per split")
        }
        guard theta > 0 else {
            throw TensorError.invalidArgument(op: op, reason: "theta \(theta) must be positive")
        }
        var frequencies: [(axis: Int, frequency: Double)] = []
        for (axis, split) in splits.enumerated() {
            for q in 0..<(split / 2) {
                frequencies.append((axis, 1 / Foundation.pow(theta, Double(2 * q) / Double(split))))
            }
        }
        let half = headDim / 2
        var cosines = [Float](repeating: 0, count: coordinates.count * half)
        var sines = cosines
        for (l, position) in coordinates.enumerated() {
            for (p, band) in frequencies.enumerated() {
                let angle = position[band.axis] * band.frequency
                cosines[l * half + p] = Float(Foundation.cos(angle))
                sines[l * half + p] = Float(Foundation.sin(angle))
            }
        }
        return (cosines, sines)
    }
}

/// Position and time embeddings: rotary embeddings (1-D or 3-D) and diffusers' sinusoidal timestep embedding.
extension Graph {
    static let embeddingThreads = 256

    /// Rotary cos/sin tables for `positions` as graph inputs of shape [L, headDim / 2] (see
    /// `RotaryPositions.table`). `splits` defaults to the whole head on one axis (LLaMA style).
    public func rotaryTable(_ positions: RotaryPositions, headDim: Int, splits: [Int]? = nil, theta: Double = 10000)
        throws -> (cos: Value, sin: Value) {
        let tables = try positions.table(headDim: headDim, splits: splits ?? [headDim], theta: theta)
        let shape = [positions.coordinates.count, headDim / 2]
        return (try input(tables.cos, shape: shape), try input(tables.sin, shape: shape))
    }

    /// `x` with each head's pairs rotated: (x0, x1) → (x0·cos − x1·sin, x0·sin + x1·cos), using column p of the
    /// [L, D/2] tables for pair p at position l. Pairs are adjacent elements (2p, 2p + 1) when `interleaved`
    /// (Wan, Flux, LLaMA's complex form) and halves (p, p + D/2) otherwise (rotate-half, as Hugging Face LLaMA).
    /// `x` is [B, L, H, D], or [B, L, H·D] with `heads` given. `x` and the result (in x's shape) are in the
    /// activation type; the tables are read in f32 and each pair turns in f32.
    public func applyRotary(_ x: Value, cos: Value, sin: Value, heads: Int? = nil, interleaved: Bool) throws
        -> Value {
        let op = "applyRotary"
        for value in [x, cos, sin] { try check(value, op) }
        let headCount: Int, headDim: Int
        switch (x.rank, heads) {
        case (4, nil):
            headCount = x.shape[2]
            headDim = x.shape[3]
        case (3, .some(let count)) where count > 0 && x.shape[2] % count == 0:
            headCount = count
            headDim = x.shape[2] / count
        default:
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape], reason: "x must be [B, L, H, D], or "
                + "[B, L, H·D] with heads (\(heads.map(String.init) ?? "none")) dividing the last axis")
        }
        let positions = x.shape[1]
        guard headDim % 2 == 0, cos.shape == [positions, headDim / 2], sin.shape == cos.shape else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, cos.shape, sin.shape],
                                            reason: "needs an even head dimension and cos, sin of [L, D/2] = "
                                                + "[\(positions), \(headDim / 2)]")
        }
        let pairs = x.count / 2
        let call = KernelCall(
            shader: activationShader("embedding_rotary"),
            specialization: [UInt32(Self.embeddingThreads), 1, 1, interleaved ? 1 : 0],
            pushConstants: [pairs, positions, headCount, headDim / 2].map(Launch.u32),
            groups: Launch.grid(count: pairs, local: Self.embeddingThreads),
            operands: [try activation(x), try cast(cos, to: .f32), try cast(sin, to: .f32)].map {
                .init(value: $0.id, access: .read)
            },
            work: Double(3 * x.count), label: op)
        return record(call, output: x.shape, dtype: activationDType)
    }

    /// diffusers' `get_timestep_embedding` for timesteps on the device ([N]) → [N, dim] in the activation type
    /// (computed in f32 and rounded once, as diffusers' `.to(dtype)`; `withActivations(.f32)` keeps f32):
    /// with half = dim / 2 and freq_k = exp(−ln(maxPeriod) · k / (half − downscaleFreqShift)),
    /// row n is [sin(scale · t_n · freq_k) for k < half] ++ [cos(...)] (cos first when `flipSinToCos`), plus
    /// one zero column when dim is odd. The frequencies are computed on the host with PyTorch's fp32 steps.
    public func timestepEmbedding(_ timesteps: Value, dim: Int, flipSinToCos: Bool, downscaleFreqShift: Float,
                                  scale: Float = 1, maxPeriod: Float = 10000) throws -> Value {
        let op = "timestepEmbedding"
        try check(timesteps, op)
        guard timesteps.rank == 1 else {
            throw TensorError.shapeMismatch(op: op, shapes: [timesteps.shape], reason: "timesteps must be [N]")
        }
        let frequencies = try Self.timestepFrequencies(dim: dim, downscaleFreqShift: downscaleFreqShift,
                                                       maxPeriod: maxPeriod)
        let count = timesteps.count * dim
        let table = try input(frequencies.isEmpty ? [0] : frequencies, shape: [Swift.max(frequencies.count, 1)])
        let call = KernelCall(
            shader: activationShader("embedding_timestep"),
            specialization: [UInt32(Self.embeddingThreads), 1, 1, flipSinToCos ? 1 : 0],
            pushConstants: [Launch.u32(count), Launch.u32(dim), Launch.u32(dim / 2), Launch.bits(scale)],
            groups: Launch.grid(count: count, local: Self.embeddingThreads),
            operands: [.init(value: try cast(timesteps, to: .f32).id, access: .read),
                       .init(value: table.id, access: .read)],
            work: Double(count), label: op)
        return record(call, output: [timesteps.count, dim], dtype: activationDType)
    }

    /// `timestepEmbedding` for host timesteps, computed on the host (fp32 arguments as PyTorch rounds them,
    /// sin and cos correctly rounded) and added as an input [N, dim] in the activation type.
    public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, downscaleFreqShift: Float,
                                  scale: Float = 1, maxPeriod: Float = 10000) throws -> Value {
        guard !timesteps.isEmpty else {
            throw TensorError.invalidArgument(op: "timestepEmbedding", reason: "needs at least one timestep")
        }
        let frequencies = try Self.timestepFrequencies(dim: dim, downscaleFreqShift: downscaleFreqShift,
                                                       maxPeriod: maxPeriod)
        let half = dim / 2
        var values = [Float](repeating: 0, count: timesteps.count * dim)
        for (n, t) in timesteps.enumerated() {
            for (k, frequency) in frequencies.enumerated() {
                let argument = Double((t * frequency) * scale)
                let sine = Float(Foundation.sin(argument)), cosine = Float(Foundation.cos(argument))
                values[n * dim + k] = flipSinToCos ? cosine : sine
                values[n * dim + half + k] = flipSinToCos ? sine : cosine
            }
        }
        return try input(values, shape: [timesteps.count, dim], dtype: activationDType)
    }

    /// freq_k = exp(fp32(fp32(−ln maxPeriod) · k) / fp32(half − shift)) for k < dim / 2, rounded like PyTorch.
    static func timestepFrequencies(dim: Int, downscaleFreqShift: Float, maxPeriod: Float) throws -> [Float] {
        let half = dim / 2
        guard dim >= 1, maxPeriod > 0, half == 0 || Float(half) != downscaleFreqShift else {
            throw TensorError.invalidArgument(op: "timestepEmbedding", reason: "dim \(dim) must be positive, "
                + "maxPeriod \(maxPeriod) positive, and half the dim must differ from the shift")
        }
        let logPeriod = Float(-Foundation.log(Double(maxPeriod)))
        let divisor = Float(Double(half) - Double(downscaleFreqShift))
        return (0..<half).map { k in Float(Foundation.exp(Double((logPeriod * Float(k)) / divisor))) }
    }
}
