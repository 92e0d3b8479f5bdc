/// Double-precision CPU convolutions written straight from PyTorch's definitions, for the convolution tests
/// and the conformance check.
public enum ConvReference {
    /// The parameters of a convolution over three axes (time, height, width); lower ranks use size-1 axes.
    public struct Geometry {
        public var kernel: [Int]
        public var stride: [Int] = [1, 1, 1]
        public var dilation: [Int] = [1, 1, 1]
        public var padBefore: [Int] = [0, 0, 0]
        public var padAfter: [Int] = [0, 0, 0]
        public var groups = 1

        public init(kernel: [Int], stride: [Int] = [1, 1, 1], dilation: [Int] = [1, 1, 1],
                    padBefore: [Int] = [0, 0, 0], padAfter: [Int] = [0, 0, 0], groups: Int = 1) {
            (self.kernel, self.stride, self.dilation) = (kernel, stride, dilation)
            (self.padBefore, self.padAfter, self.groups) = (padBefore, padAfter, groups)
        }
    }

    /// `x` [n, cin, t, h, w] (flattened), `weight` [cout, cin / groups, kT, kH, kW]; returns [n, cout, T', H', W'].
    public static func convolution(_ x: [Float], shape: [Int], weight: [Float], outChannels: Int, bias: [Float]?,
                                   geometry g: Geometry) -> (values: [Double], shape: [Int]) {
        let (batch, inChannels) = (shape[0], shape[1])
        let input = Array(shape[2...])
        let output = (0..<3).map { (axis: Int) -> Int in
            let padded: Int = input[axis] + g.padBefore[axis] + g.padAfter[axis]
            let extent: Int = g.dilation[axis] * (g.kernel[axis] - 1) + 1
            return (padded - extent) / g.stride[axis] + 1
        }
        let inPerGroup = inChannels / g.groups, outPerGroup = outChannels / g.groups
        let taps = g.kernel.reduce(1, *)
        var result = [Double](repeating: 0, count: batch * outChannels * output.reduce(1, *))
        var index = 0
        for b in 0..<batch {
            for co in 0..<outChannels {
                let group = co / outPerGroup
                for ot in 0..<output[0] {
                    for oh in 0..<output[1] {
                        for ow in 0..<output[2] {
                            var sum = Double(bias?[co] ?? 0)
                            for c in 0..<inPerGroup {
                                let ci = group * inPerGroup + c
                                for kt in 0..<g.kernel[0] {
                                    let it = ot * g.stride[0] - g.padBefore[0] + kt * g.dilation[0]
                                    guard it >= 0, it < input[0] else { continue }
                                    for kh in 0..<g.kernel[1] {
                                        let ih = oh * g.stride[1] - g.padBefore[1] + kh * g.dilation[1]
                                        guard ih >= 0, ih < input[1] else { continue }
                                        for kw in 0..<g.kernel[2] {
                                            let iw = ow * g.stride[2] - g.padBefore[2] + kw * g.dilation[2]
                                            guard iw >= 0, iw < input[2] else { continue }
                                            let xIndex = (((b * inChannels + ci) * input[0] + it) * input[1] + ih)
                                                * input[2] + iw
                                            let wIndex = (co * inPerGroup + c) * taps
                                                + (kt * g.kernel[1] + kh) * g.kernel[2] + kw
                                            sum += Double(x[xIndex]) * Double(weight[wIndex])
                                        }
                                    }
                                }
                            }
                            result[index] = sum
                            index += 1
                        }
                    }
                }
            }
        }
        return (result, [batch, outChannels] + output)
    }

    /// PyTorch's `ConvTranspose1d` by scattering each input into the outputs it feeds: `x` [n, cin, l],
    /// `weight` [cin, cout / groups, k]; returns [n, cout, l'].
    public static func convTranspose1d(_ x: [Float], shape: [Int], weight: [Float], kernel: Int, outPerGroup: Int,
                                       bias: [Float]?, stride: Int, padding: Int, outputPadding: Int, dilation: Int,
                                       groups: Int) -> (values: [Double], shape: [Int]) {
        let (batch, inChannels, length) = (shape[0], shape[1], shape[2])
        let outLength = (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
        let outChannels = outPerGroup * groups, inPerGroup = inChannels / groups
        var result = [Double](repeating: 0, count: batch * outChannels * outLength)
        for b in 0..<batch {
            for co in 0..<outChannels {
                for l in 0..<outLength { result[(b * outChannels + co) * outLength + l] = Double(bias?[co] ?? 0) }
            }
            for ci in 0..<inChannels {
                let group = ci / inPerGroup
                for i in 0..<length {
                    let value = Double(x[(b * inChannels + ci) * length + i])
                    for c in 0..<outPerGroup {
                        let co = group * outPerGroup + c
                        for j in 0..<kernel {
                            let l = i * stride - padding + j * dilation
                            guard l >= 0, l < outLength else { continue }
                            result[(b * outChannels + co) * outLength + l] +=
                                value * Double(weight[(ci * outPerGroup + c) * kernel + j])
                        }
                    }
                }
            }
        }
        return (result, [batch, outChannels, outLength])
    }
}
