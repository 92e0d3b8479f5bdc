/// The models' picture layout, planar RGB floats [3, height, width] in [0, 1], to and from frames.
extension VideoFrame {
    /// The frame as planar RGB floats [3, height, width] in [0, 1].
    public var planarRGB: [Float] {
        let pixels = rgb8
        let count = width * height
        var planar = [Float](repeating: 0, count: 3 * count)
        for index in 0..<count {
            for channel in 0..<3 { planar[channel * count + index] = Float(pixels[3 * index + channel]) / 255 }
        }
        return planar
    }

    /// A frame of planar RGB floats [3, height, width] (values outside [0, 1] are clamped when encoded).
    public init(planarRGB planar: [Float], width: Int, height: Int) throws {
        let count = width * height
        // The wrong number of values: the interleaved initialiser's own check says so.
        guard planar.count == 3 * count else { try self.init(width: width, height: height, rgbFloat: planar); return }
        var interleaved = [Float](repeating: 0, count: 3 * count)
        for index in 0..<count {
            for channel in 0..<3 { interleaved[3 * index + channel] = planar[channel * count + index] }
        }
        try self.init(width: width, height: height, rgbFloat: interleaved)
    }
}
