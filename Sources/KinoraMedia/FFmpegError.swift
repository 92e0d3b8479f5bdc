import CFFmpeg

/// Turns FFmpeg return codes into ``MediaError`` values that name the failing call.
enum FFmpegError {
    /// The text FFmpeg gives for an error code.
    static func message(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        return buffer.withUnsafeMutableBufferPointer { pointer in
            String(cString: kinora_av_err2str(code, pointer.baseAddress, pointer.count))
        }
    }

    static func error(_ call: String, _ code: Int32, path: String? = nil) -> MediaError {
        .ffmpeg(call: call, code: code, message: message(for: code), path: path)
    }

    /// Returns `code` when it is not negative, throws otherwise.
    @discardableResult
    static func check(_ code: Int32, _ call: String, path: String? = nil) throws -> Int32 {
        if code < 0 { throw error(call, code, path: path) }
        return code
    }

    static let endOfFile = kinora_AVERROR_EOF()
    static let tryAgain = kinora_AVERROR_EAGAIN()
    static let outOfMemory = kinora_AVERROR(ENOMEM)
}

/// Keeps the libraries' chatter (encoder statistics, banners) off standard error; errors are still printed.
enum FFmpegLog {
    private static let quiet: Void = av_log_set_level(AV_LOG_ERROR)

    static func quietOnce() { quiet }
}
