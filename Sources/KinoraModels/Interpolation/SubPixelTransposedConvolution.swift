import KinoraFormats

/// A `ConvTranspose2d(kernel 4, stride 2, padding 1)` rewritten as a 3×3 convolution (padding 1) to four times the
/// output channels followed by a pixel shuffle by 2, with the same result: output pixel (2m + a, 2n + b) of the
/// transposed convolution reads inputs m − 1 … m + 1 through kernel taps ky = (3, 1, –) for a = 0 and (–, 2, 0) for
/// a = 1 (likewise across), so each of the four phases is a sparse 3×3 kernel. The rewrite happens once, on the host,
/// when the weights load; Kinora's kernels then need no transposed 2-D convolution.
struct SubPixelTransposedConvolution {
    /// The 3×3 weight [4·Cout, Cin, 3, 3] (output channel o·4 + a·2 + b) and its bias [4·Cout].
    let weight: [Float]
    let bias: [Float]
    let inChannels: Int
    let outChannels: Int

    /// The kernel tap of transposed-convolution phase `phase` at 3×3 tap `tap`, nil where the phase reads nothing.
    static func tap(phase: Int, _ tap: Int) -> Int? {
        phase == 0 ? [3, 1, nil][tap] : [nil, 2, 0][tap]
    }

    /// From PyTorch's transposed weight [Cin, Cout, 4, 4] and bias [Cout].
    init(transposedWeight: [Float], bias: [Float], inChannels: Int, outChannels: Int) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        var weight = [Float](repeating: 0, count: 4 * outChannels * inChannels * 9)
        for o in 0..<outChannels {
            for a in 0..<2 {
                for b in 0..<2 {
                    let row = o * 4 + a * 2 + b
                    for i in 0..<inChannels {
                        for ty in 0..<3 {
                            guard let ky = Self.tap(phase: a, ty) else { continue }
                            for tx in 0..<3 {
                                guard let kx = Self.tap(phase: b, tx) else { continue }
                                weight[((row * inChannels + i) * 3 + ty) * 3 + tx] =
                                    transposedWeight[((i * outChannels + o) * 4 + ky) * 4 + kx]
                            }
                        }
                    }
                }
            }
        }
        self.weight = weight
        self.bias = (0..<(4 * outChannels)).map { bias[$0 / 4] }
    }
}
