import KinoraReference
import KinoraTensor

/// Bilinear and bicubic resizing up and down, with and without aligned corners, and the optical-flow backward warp.
extension KernelConformance {
    static func resamplingCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for (height, width, outHeight, outWidth) in [(7, 9, 14, 18), (12, 16, 6, 8), (5, 6, 13, 4)] {
            for filter in [Graph.ResizeFilter.bilinear, .bicubic] {
                for align in [false, true] {
                    let name = "resize \(filter) 2x3x\(height)x\(width)->\(outHeight)x\(outWidth)"
                        + (align ? " aligned" : "")
                    cases.append(ConformanceCase(name: name, tolerance: 2e-6) { context in
                        let x = context.values(2 * 3 * height * width)
                        let graph = context.graph()
                        let y = try graph.resize(graph.input(x, shape: [2, 3, height, width]), height: outHeight,
                                                 width: outWidth, filter: filter, alignCorners: align)
                        let expected = ResizeReference.resample(
                            x, planes: 6, height: height, width: width, outHeight: outHeight, outWidth: outWidth,
                            bicubic: filter == .bicubic, alignCorners: align)
                        return .init(actual: try graph.run([y])[0].floats(), expected: expected)
                    })
                }
            }
        }
        for flowChannel in [0, 2] {
            cases.append(ConformanceCase(name: "warp 2x3x13x17 flow channels \(flowChannel),\(flowChannel + 1) of 4",
                                         tolerance: 2e-6) { context in
                let shape = [2, 3, 13, 17]
                let image = context.values(shape.reduce(1, *))
                let flow = context.values(2 * 4 * 13 * 17, scale: 6)
                let graph = context.graph()
                let y = try graph.backwardWarp(graph.input(image, shape: shape),
                                               flow: graph.input(flow, shape: [2, 4, 13, 17]),
                                               flowChannel: flowChannel)
                let expected = WarpReference.backwardWarp(image, shape: shape, flow: flow, flowChannels: 4,
                                                          flowChannel: flowChannel)
                return .init(actual: try graph.run([y])[0].floats(), expected: expected)
            })
        }
        return cases
    }
}
