import KinoraTensor

extension AutoencoderKLWan {
    /// diffusers' `WanResample`, one frame at a time in space, with the causal time convolution of the 3-D modes:
    ///
    /// - `upsample2d`: nearest ×2 (`nearest-exact`, the same at factor 2), then a 3×3 convolution to
    ///   `upsample_out_dim` channels (half the width in Wan 2.1, the width in Wan 2.2).
    /// - `upsample3d`: first `time_conv` (3×1×1, C → 2C, causal) doubles the frames, its two halves interleaved
    ///   in time, then as `upsample2d`. The first chunk's frame skips the time convolution (diffusers marks the
    ///   slot `Rep`), so latent frame 0 stays one frame.
    /// - `downsample2d`: one zero column on the right and one zero row at the bottom (`ZeroPad2d((0, 1, 0, 1))`),
    ///   then a stride-2 3×3 convolution.
    /// - `downsample3d`: as `downsample2d`, then `time_conv` (3×1×1, stride 2, no padding) over the previous
    ///   chunk's last frame and this chunk's frames; the first chunk's frame passes unchanged.
    struct Resample: Sendable {
        enum Mode: Sendable {
            case upsample2d, upsample3d, downsample2d, downsample3d
        }

        let weights: DeviceWeights
        let mode: Mode

        func callAsFunction(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            let graph = pass.graph
            var x = x
            switch mode {
            case .upsample3d:
                x = try timeUpsample(pass, x)
                fallthrough
            case .upsample2d:
                let (batch, channels, frames, height, width) = (
                    x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                    x.shape[4]
                )
                let planes = try graph.reshape(x, [batch, channels * frames, height, width])
                x = try graph.reshape(
                    graph.upsampleNearest2x(planes), [batch, channels, frames, 2 * height, 2 * width])
                return try AutoencoderKLWan.frameConv(graph, x, weights.scoped("resample.1"), stride: 1, padding: 1)
            case .downsample2d, .downsample3d:
                x = try AutoencoderKLWan.frameConv(
                    graph, padRightAndBottom(graph, x), weights.scoped("resample.1"),
                    stride: 2, padding: 0)
                return mode == .downsample3d ? try timeDownsample(pass, x) : x
            }
        }

        /// `ZeroPad2d((0, 1, 0, 1))` of [B, C, T, H, W]: zeros uploaded once per call, joined on.
        private func padRightAndBottom(_ graph: Graph, _ x: Value) throws -> Value {
            let (batch, channels, frames, height, width) = (
                x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                x.shape[4]
            )
            let column = try graph.input(
                [Float](repeating: 0, count: batch * channels * frames * height),
                shape: [batch, channels, frames, height, 1])
            let row = try graph.input(
                [Float](repeating: 0, count: batch * channels * frames * (width + 1)),
                shape: [batch, channels, frames, 1, width + 1])
            return try graph.concat([graph.concat([x, column], axis: 4), row], axis: 3)
        }

        private var timeConvolution: CausalConv3d {
            mode == .upsample3d
                ? CausalConv3d(weights: weights.scoped("time_conv"), timePadding: 1, spacePadding: 0)
                : CausalConv3d(weights: weights.scoped("time_conv"), timePadding: 0, spacePadding: 0, timeStride: 2)
        }

        /// `time_conv` to 2C channels, then channel half 0 gives the even output frames and half 1 the odd ones.
        private func timeUpsample(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            let graph = pass.graph
            let frames = x.shape[2]
            switch try pass.take() {
            case nil:
                // The first chunk: its first frame passes; any later frames are convolved from a zero history.
                guard frames > 1 else {
                    try pass.store(.rep)
                    return x
                }
                let rest = try graph.slice(x, axis: 2, start: 1, length: frames - 1)
                let doubled = try interleave(graph, timeConvolution(graph, rest))
                try pass.store(.frames(try framesAfterRep(graph, rest)))
                return try graph.concat([graph.slice(x, axis: 2, start: 0, length: 1), doubled], axis: 2)
            case .rep:
                // The chunk after the first: no history yet, so zeros in front (diffusers' `time_conv(x)`).
                try pass.store(.frames(try framesAfterRep(graph, x)))
                return try interleave(graph, timeConvolution(graph, x))
            case .frames(let cached):
                try pass.store(.frames(try pass.lastFrames(x, previous: cached)))
                return try interleave(graph, timeConvolution(graph, x, cached: cached))
            }
        }

        /// diffusers' cache after `Rep`: the last two frames of `x`, or a zero frame and `x`'s only one.
        private func framesAfterRep(_ graph: Graph, _ x: Value) throws -> Value {
            let frames = x.shape[2]
            guard frames < 2 else { return try graph.slice(x, axis: 2, start: frames - 2, length: 2) }
            let zeros = try graph.input([Float](repeating: 0, count: x.count), shape: x.shape)
            return try graph.concat([zeros, x], axis: 2)
        }

        /// [B, 2C, T, H, W] → [B, C, 2T, H, W] with frame 2t from channels 0..<C and 2t + 1 from C..<2C
        /// (`x.reshape(b, 2, c, t, h, w)`, stacked on a new axis after t).
        private func interleave(_ graph: Graph, _ y: Value) throws -> Value {
            let (batch, channels, frames, height, width) = (
                y.shape[0], y.shape[1] / 2, y.shape[2], y.shape[3],
                y.shape[4]
            )
            let halves = try graph.reshape(y, [batch, 2, channels, frames, height * width])
            return try graph.reshape(
                graph.permute(halves, [0, 2, 3, 1, 4]),
                [batch, channels, 2 * frames, height, width])
        }

        /// The stride-2 `time_conv` over the previous chunk's last frame and `x`; the first chunk's first frame
        /// passes unchanged (later frames of a first chunk are convolved from it).
        private func timeDownsample(_ pass: WanVAEPass, _ x: Value) throws -> Value {
            let graph = pass.graph
            let frames = x.shape[2]
            let last = try graph.slice(x, axis: 2, start: frames - 1, length: 1)
            guard let cached = try pass.takeFrames() else {
                try pass.store(.frames(last))
                guard frames > 1 else { return x }
                return try graph.concat(
                    [graph.slice(x, axis: 2, start: 0, length: 1), timeConvolution(graph, x)], axis: 2)
            }
            try pass.store(.frames(last))
            let previous = try graph.slice(cached, axis: 2, start: cached.shape[2] - 1, length: 1)
            return try timeConvolution(graph, graph.concat([previous, x], axis: 2))
        }
    }
}
