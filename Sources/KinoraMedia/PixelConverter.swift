import CFFmpeg

/// Owns an `SwsContext` that converts between packed 8-bit RGB arrays and frames in a codec's pixel format, with
/// BT.709 coefficients and limited range on the YUV side.
final class PixelConverter {
    private var context: OpaquePointer?
    private let flags: Int32

    /// `accurate` trades speed for exact rounding and full chroma interpolation (used when decoding for checks).
    init(accurate: Bool) {
        flags = accurate ? Int32(SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT) : Int32(SWS_BICUBIC)
    }

    static func pixelFormat(named name: String) throws -> AVPixelFormat {
        let format = av_get_pix_fmt(name)
        guard format != AV_PIX_FMT_NONE else { throw MediaError.codecUnavailable(name: "pixel format \(name)") }
        return format
    }

    private func prepare(width: Int, height: Int, from source: AVPixelFormat, to target: AVPixelFormat,
                         yuvIsBT709: Bool, yuvIsFullRange: Bool) throws {
        context = sws_getCachedContext(
            context, Int32(width), Int32(height), source, Int32(width), Int32(height), target, flags, nil, nil, nil)
        guard context != nil else {
            throw MediaError.invalidArgument("sws_getCachedContext cannot convert \(width)x\(height) "
                + "\(String(cString: av_get_pix_fmt_name(source))) to \(String(cString: av_get_pix_fmt_name(target)))")
        }
        let yuvTable = sws_getCoefficients(yuvIsBT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT)
        let rgbIsSource = source == AV_PIX_FMT_RGB24
        let yuvRange: Int32 = yuvIsFullRange ? 1 : 0
        sws_setColorspaceDetails(
            context, yuvTable, rgbIsSource ? 1 : yuvRange, yuvTable, rgbIsSource ? yuvRange : 1, 0, 1 << 16, 1 << 16)
    }

    /// Converts packed RGB24 `pixels` of `width × height` into `frame` (already allocated in its format and size).
    /// YUV targets get BT.709 limited range unless `bt709` / `fullRange` say otherwise (JPEG is BT.601 full range).
    func convert(rgb24 pixels: [UInt8], width: Int, height: Int, into frame: Frame, bt709: Bool = true,
                 fullRange: Bool = false) throws {
        let target = AVPixelFormat(rawValue: frame.pointer.pointee.format)
        try prepare(width: width, height: height, from: AV_PIX_FMT_RGB24, to: target, yuvIsBT709: bt709,
                    yuvIsFullRange: fullRange)
        pixels.withUnsafeBufferPointer { source in
            var sourcePlanes: [UnsafePointer<UInt8>?] = [source.baseAddress, nil, nil, nil]
            var sourceStrides: [Int32] = [Int32(width * 3), 0, 0, 0]
            withUnsafeMutablePointer(to: &frame.pointer.pointee.data) { data in
                withUnsafeMutablePointer(to: &frame.pointer.pointee.linesize) { linesize in
                    data.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { planes in
                        linesize.withMemoryRebound(to: Int32.self, capacity: 8) { strides in
                            _ = sws_scale(context, &sourcePlanes, &sourceStrides, 0, Int32(height), planes, strides)
                        }
                    }
                }
            }
        }
    }

    /// Converts a decoded frame, whatever its format, to packed RGB24, honouring its colour matrix and range tags.
    func rgb24(from frame: Frame) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        let width = Int(frame.pointer.pointee.width)
        let height = Int(frame.pointer.pointee.height)
        let source = AVPixelFormat(rawValue: frame.pointer.pointee.format)
        try prepare(width: width, height: height, from: source, to: AV_PIX_FMT_RGB24,
                    yuvIsBT709: frame.pointer.pointee.colorspace == AVCOL_SPC_BT709,
                    yuvIsFullRange: frame.pointer.pointee.color_range == AVCOL_RANGE_JPEG)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { target in
            var targetPlanes: [UnsafeMutablePointer<UInt8>?] = [target.baseAddress, nil, nil, nil]
            var targetStrides: [Int32] = [Int32(width * 3), 0, 0, 0]
            withUnsafeMutablePointer(to: &frame.pointer.pointee.data) { data in
                withUnsafeMutablePointer(to: &frame.pointer.pointee.linesize) { linesize in
                    data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { planes in
                        linesize.withMemoryRebound(to: Int32.self, capacity: 8) { strides in
                            _ = sws_scale(context, planes, strides, 0, Int32(height), &targetPlanes, &targetStrides)
                        }
                    }
                }
            }
        }
        return (width, height, pixels)
    }

    deinit {
        sws_freeContext(context)
    }
}
