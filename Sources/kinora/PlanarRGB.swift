import KinoraMedia

/// The models' picture layout: planar RGB floats [3, height, width] in [0, 1], to and from the media layer's
/// interleaved frames.
enum PlanarRGB {
    /// `frame` as planar floats in [0, 1].
    static func planes(of frame: VideoFrame) -> [Float] {
        let pixels = frame.rgb8
        let count = frame.width * frame.height
        var planar = [Float](repeating: 0, count: 3 * count)
        for i in 0..<count {
            for c in 0..<3 { planar[c * count + i] = Float(pixels[3 * i + c]) / 255 }
        }
        return planar
    }

    /// Planar floats [3, height, width] as a frame (values outside [0, 1] are clamped when encoded).
    static func frame(_ planar: [Float], height: Int, width: Int) throws -> VideoFrame {
        let count = width * height
        var interleaved = [Float](repeating: 0, count: 3 * count)
        for i in 0..<count {
            for c in 0..<3 { interleaved[3 * i + c] = planar[c * count + i] }
        }
        return try VideoFrame(width: width, height: height, rgbFloat: interleaved)
    }

    /// Refuses what the 8-bit RGB reading would silently lose: an alpha channel or more than 8 bits per channel.
    /// `reader` names what reads the picture in the message ("the upscaler", "Wan's keyframe encoding").
    static func requireEightBitRGB(_ stream: MediaInfo.Stream, of path: String, reader: String = "the upscaler")
        throws
    {
        let format = stream.pixelFormat ?? "unknown"
        if stream.hasAlpha {
            throw Kinora.Failure(
                description: "\(path) has an alpha channel (pixel format \(format)); \(reader) "
                    + "reads RGB only: flatten the picture onto a background first")
        }
        if let bits = stream.bitsPerComponent, bits > 8 {
            throw Kinora.Failure(
                description: "\(path) has \(bits) bits per channel (pixel format \(format)); "
                    + "\(reader) reads 8-bit pictures only and would silently drop the low bits: convert it to 8 bits "
                    + "first"
            )
        }
    }
}
