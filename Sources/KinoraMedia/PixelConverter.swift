import CFFmpeg

/// Owns an `SwsContext` that converts between packed 8-bit RGB arrays and frames in a codec's pixel format, with
/// BT.709 coefficients and limited range on the YUV side. The context is built once per size and format pair and
/// reused for every frame of that shape. swscale never sees the arrays themselves: their rows are copied to or from
/// a picture FFmpeg allocated, whose padding its vector loads and stores may touch.
final class PixelConverter {
    private var context: OpaquePointer?
    private var shape: Shape?
    private var packed: Frame?
    private let flags: Int32
    private let threads: Int

    /// What a context was built for; a frame of another shape rebuilds it.
    private struct Shape: Equatable {
        let width: Int
        let height: Int
        let source: AVPixelFormat
        let target: AVPixelFormat
        let yuvIsBT709: Bool
        let yuvIsFullRange: Bool
    }

    /// `accurate` trades speed for exact rounding and full chroma interpolation (used when decoding for checks).
    /// `threads` is swscale's slice-thread count for ``convert(rgb24:width:height:into:bt709:fullRange:)``: 0 picks
    /// one per core, as FFmpeg's scale filter does; the result does not depend on it.
    init(accurate: Bool, threads: Int = 1) {
        flags = accurate ? Int32(SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT) : Int32(SWS_BICUBIC)
        self.threads = threads
    }

    static func pixelFormat(named name: String) throws -> AVPixelFormat {
        let format = av_get_pix_fmt(name)
        guard format != AV_PIX_FMT_NONE else { throw MediaError.codecUnavailable(name: "pixel format \(name)") }
        return format
    }

    private func prepare(_ wanted: Shape) throws {
        guard wanted != shape else { return }
        sws_freeContext(context)
        shape = nil
        context = sws_alloc_context()
        guard let context else { throw FFmpegError.error("sws_alloc_context", FFmpegError.outOfMemory) }
        let options: [(String, Int64)] = [
            ("srcw", Int64(wanted.width)), ("srch", Int64(wanted.height)),
            ("src_format", Int64(wanted.source.rawValue)),
            ("dstw", Int64(wanted.width)), ("dsth", Int64(wanted.height)),
            ("dst_format", Int64(wanted.target.rawValue)),
            ("sws_flags", Int64(flags)), ("threads", Int64(threads)),
        ]
        for (name, value) in options {
            try FFmpegError.check(av_opt_set_int(UnsafeMutableRawPointer(context), name, value, 0),
                                  "av_opt_set_int(\(name))")
        }
        let status = sws_init_context(context, nil, nil)
        guard status >= 0 else {
            throw MediaError.invalidArgument("sws_init_context cannot convert \(wanted.width)x\(wanted.height) "
                + "\(String(cString: av_get_pix_fmt_name(wanted.source))) to "
                + "\(String(cString: av_get_pix_fmt_name(wanted.target))): \(FFmpegError.message(for: status))")
        }
        let yuvTable = sws_getCoefficients(wanted.yuvIsBT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT)
        let rgbIsSource = wanted.source == AV_PIX_FMT_RGB24
        let yuvRange: Int32 = wanted.yuvIsFullRange ? 1 : 0
        sws_setColorspaceDetails(
            context, yuvTable, rgbIsSource ? 1 : yuvRange, yuvTable, rgbIsSource ? yuvRange : 1, 0, 1 << 16, 1 << 16)
        shape = wanted
    }

    /// Converts packed RGB24 `pixels` of `width × height` into `frame` (already allocated in its format and size).
    /// YUV targets get BT.709 limited range unless `bt709` / `fullRange` say otherwise (JPEG is BT.601 full range).
    /// With several threads each converts a band of rows.
    func convert(rgb24 pixels: [UInt8], width: Int, height: Int, into frame: Frame, bt709: Bool = true,
                 fullRange: Bool = false) throws {
        try pixels.withUnsafeBufferPointer { pixels in
            try convert(rgb24: pixels, width: width, height: height, into: frame, bt709: bt709, fullRange: fullRange)
        }
    }

    /// ``convert(rgb24:width:height:into:bt709:fullRange:)`` for pixels anywhere in memory: exactly their
    /// `width × height × 3` bytes are read, none after them.
    func convert(rgb24 pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int, into frame: Frame,
                 bt709: Bool = true, fullRange: Bool = false) throws {
        guard pixels.count == width * height * 3 else {
            throw MediaError.invalidFrameData(expected: width * height * 3, got: pixels.count)
        }
        let target = AVPixelFormat(rawValue: frame.pointer.pointee.format)
        try prepare(Shape(width: width, height: height, source: AV_PIX_FMT_RGB24, target: target, yuvIsBT709: bt709,
                          yuvIsFullRange: fullRange))
        let source = try packedPicture(width: width, height: height)
        source.copyRows(from: pixels, rowBytes: width * 3, height: height)
        try FFmpegError.check(sws_scale_frame(context, frame.pointer, source.pointer), "sws_scale_frame")
    }

    /// Converts a decoded frame, whatever its format, to packed RGB24, honouring its colour matrix and range tags.
    func rgb24(from frame: Frame) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        let width = Int(frame.pointer.pointee.width)
        let height = Int(frame.pointer.pointee.height)
        let source = AVPixelFormat(rawValue: frame.pointer.pointee.format)
        try prepare(Shape(width: width, height: height, source: source, target: AV_PIX_FMT_RGB24,
                          yuvIsBT709: frame.pointer.pointee.colorspace == AVCOL_SPC_BT709,
                          yuvIsFullRange: frame.pointer.pointee.color_range == AVCOL_RANGE_JPEG))
        let target = try packedPicture(width: width, height: height)
        try FFmpegError.check(sws_scale_frame(context, target.pointer, frame.pointer), "sws_scale_frame")
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { rows in
            target.copyRows(to: rows, rowBytes: width * 3, height: height)
        }
        return (width, height, pixels)
    }

    /// The packed RGB24 picture swscale reads from or writes to, allocated by FFmpeg (rows aligned and padded as
    /// its SIMD code needs: it loads whole vectors, past the last pixel of a row) and kept while the size stays.
    private func packedPicture(width: Int, height: Int) throws -> Frame {
        if let packed, Int(packed.pointer.pointee.width) == width, Int(packed.pointer.pointee.height) == height {
            try packed.makeWritable()
            return packed
        }
        packed = nil
        let picture = try Frame(width: width, height: height, pixelFormat: AV_PIX_FMT_RGB24)
        packed = picture
        return picture
    }

    deinit {
        sws_freeContext(context)
    }
}
