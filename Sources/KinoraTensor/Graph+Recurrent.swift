/// Recurrent layers: PyTorch's `nn.LSTM`, one layer at a time (EnCodec's and SEANet's LSTMs stack two).
extension Graph {
    /// Threads of one workgroup of the LSTM cell kernel, which splits one hidden unit's four dot products.
    static let lstmThreads = 64
    /// The most bytes of input projections one matmul computes: longer sequences are projected in blocks of
    /// timesteps, so a long input never needs a buffer of T · N · 4H values (a 2-minute EnCodec decode would need
    /// 98 MB).
    static let lstmProjectionBytes = 32 << 20

    /// One LSTM layer over `x` [T, N, I] (time first, PyTorch's `batch_first=False`) from zero state, as
    /// `torch.nn.LSTM(I, H)` computes it: with gates in PyTorch's order (input, forget, cell, output),
    /// `i, f, g, o = split(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)`, `c_t = σ(f) c_{t−1} + σ(i) tanh(g)` and
    /// `h_t = σ(o) tanh(c_t)`. `weightIH` is [4H, I], `weightHH` [4H, H] (in their storage type), the biases [4H]
    /// (`nil` for `bias=False`). The result is h_0 … h_{T−1}, [T, N, H] in the activation type.
    ///
    /// With 16-bit activations the input projections are read in the activation type, as PyTorch's autocast runs
    /// LSTMs (`LSTMCell`, cuDNN's LSTM) in f16, but the recurrent state (h between steps, and c) stays f32 and only
    /// the layer's output is rounded: autocast's cell stores c in f16 after every step, and over the thousands of
    /// steps of an audio decode a forget gate near 1 carries that rounding along in c. Keeping the state f32 costs
    /// its f32 rows next to the 16-bit output and one cast.
    ///
    /// The input projections of a block of timesteps are one matmul; then each step is one dispatch that adds the
    /// recurrent product and updates the state (f32), so a layer over T steps costs T dispatches plus one matmul
    /// per `projectionSteps` steps (default: as many as fit `lstmProjectionBytes`; tests make it small).
    public func lstm(
        _ x: Value, weightIH: Value, weightHH: Value, biasIH: Value?, biasHH: Value?, projectionSteps: Int? = nil
    ) throws -> Value {
        for value in [x, weightIH, weightHH] + [biasIH, biasHH].compactMap({ $0 }) { try check(value, "lstm") }
        guard x.rank == 3, weightIH.rank == 2, weightHH.rank == 2, x.shape.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.shapeMismatch(
                op: "lstm", shapes: [x.shape, weightIH.shape, weightHH.shape],
                reason: "expected x [T, N, I], weight_ih [4H, I] and weight_hh [4H, H]")
        }
        let (steps, batch, inputSize) = (x.shape[0], x.shape[1], x.shape[2])
        let hidden = weightHH.shape[1]
        guard weightHH.shape[0] == 4 * hidden, weightIH.shape == [4 * hidden, inputSize] else {
            throw TensorError.shapeMismatch(
                op: "lstm", shapes: [x.shape, weightIH.shape, weightHH.shape],
                reason: "weight_ih must be [4H, I] = [\(4 * hidden), \(inputSize)] and weight_hh [4H, H] with H = "
                    + "\(hidden)")
        }
        for bias in [biasIH, biasHH].compactMap({ $0 }) where bias.count != 4 * hidden {
            throw TensorError.shapeMismatch(op: "lstm", shapes: [bias.shape], reason: "biases need 4H = \(4 * hidden)")
        }
        if let projectionSteps, projectionSteps < 1 {
            throw TensorError.invalidArgument(op: "lstm", reason: "projectionSteps \(projectionSteps) must be ≥ 1")
        }
        let biases = try [biasIH, biasHH].map { bias in
            guard let bias else { return try input([Float](repeating: 0, count: 4 * hidden), shape: [4 * hidden]) }
            return try cast(reshape(bias, [4 * hidden]), to: .f32)
        }
        let recurrent = try widened(weightHH)
        let rowBytes = batch * 4 * hidden * DType.f32.size
        let block = min(steps, projectionSteps ?? max(1, Self.lstmProjectionBytes / rowBytes))
        let units = batch * hidden
        var state: Value?
        for start in stride(from: 0, to: steps, by: block) {
            let length = min(block, steps - start)
            let rows = try reshape(slice(x, axis: 0, start: start, length: length), [length * batch, inputSize])
            let gates = try activation(matmul(rows, weightIH, transposeB: true))
            for offset in 0..<length {
                let step = start + offset
                let call = KernelCall(
                    shader: activationShader("lstm_cell.\(recurrent.dtype.variant)"),
                    specialization: [UInt32(Self.lstmThreads)],
                    pushConstants: [step, offset, batch, hidden, steps].map(Launch.u32),
                    groups: Launch.groups(units),
                    operands: [gates, recurrent, biases[0], biases[1]].map { .init(value: $0.id, access: .read) },
                    work: Double(units * 8 * hidden), label: "lstm")
                if let state {
                    recordUpdate(call, of: state)
                } else {
                    state = record(call, output: [steps + 1, batch, hidden])
                }
            }
        }
        // Rows 0..<T are h; the last row holds c. A slice from offset 0 is a view.
        return try activation(slice(state!, axis: 0, start: 0, length: steps))
    }

    /// Records a kernel that reads and writes `target` in place (a recurrence's state), after every earlier kernel
    /// that touches it and before every later one.
    private func recordUpdate(_ call: KernelCall, of target: Value) {
        var call = call
        call.operands.append(KernelCall.Operand(value: target.id, access: .readWrite))
        nodes.append(Node(call: call, output: target.id))
    }
}
