import KinoraMedia

/// Checks on pictures the models read as planar RGB floats (`VideoFrame.planarRGB`).
enum PlanarRGB {
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
