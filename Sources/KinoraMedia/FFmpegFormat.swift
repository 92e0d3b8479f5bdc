import CFFmpeg
import Foundation

/// Owns an output `AVFormatContext` and its file: add streams, write the header, interleave packets, finish.
final class OutputFormat {
    let pointer: UnsafeMutablePointer<AVFormatContext>
    let path: String
    private var fileOpen = false
    private var encoderTimeBases: [AVRational] = []

    init(path: String, muxerName: String) throws {
        var context: UnsafeMutablePointer<AVFormatContext>?
        try FFmpegError.check(
            avformat_alloc_output_context2(&context, nil, muxerName, path), "avformat_alloc_output_context2", path: path)
        pointer = context!
        self.path = path
    }

    /// Whether encoders must put codec headers in extradata (MP4, MKV).
    var needsGlobalHeader: Bool { (pointer.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    /// Whether the muxer can store this encoder's codec.
    func supports(_ encoder: CodecContext) -> Bool {
        avformat_query_codec(pointer.pointee.oformat, encoder.codecID, FF_COMPLIANCE_NORMAL) == 1
    }

    /// Adds a stream for an opened encoder and returns its index.
    func addStream(for encoder: CodecContext, frameRate: FrameRate? = nil) throws -> Int32 {
        guard let stream = avformat_new_stream(pointer, nil) else {
            throw FFmpegError.error("avformat_new_stream", FFmpegError.outOfMemory, path: path)
        }
        stream.pointee.time_base = encoder.timeBase
        if let frameRate {
            let rate = AVRational(num: Int32(frameRate.numerator), den: Int32(frameRate.denominator))
            stream.pointee.avg_frame_rate = rate
            stream.pointee.r_frame_rate = rate
        }
        try FFmpegError.check(
            avcodec_parameters_from_context(stream.pointee.codecpar, encoder.pointer), "avcodec_parameters_from_context",
            path: path)
        encoderTimeBases.append(encoder.timeBase)
        return stream.pointee.index
    }

    /// Sets container-level metadata tags (title, comment, and free-form keys).
    func setMetadata(_ tags: [String: String]) throws {
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            try FFmpegError.check(av_dict_set(&pointer.pointee.metadata, key, value, 0), "av_dict_set(\(key))", path: path)
        }
    }

    /// Opens the file and writes the container header with muxer options such as `movflags`.
    func writeHeader(options: [String: String]) throws {
        try FFmpegError.check(avio_open(&pointer.pointee.pb, path, AVIO_FLAG_WRITE), "avio_open", path: path)
        fileOpen = true
        var dictionary: OpaquePointer?
        defer { av_dict_free(&dictionary) }
        for (key, value) in options {
            try FFmpegError.check(av_dict_set(&dictionary, key, value, 0), "av_dict_set(\(key))", path: path)
        }
        try FFmpegError.check(avformat_write_header(pointer, &dictionary), "avformat_write_header", path: path)
    }

    /// Rescales a packet from its encoder's time base to its stream's and hands it to the interleaver.
    func write(_ packet: Packet, stream index: Int32) throws {
        let stream = pointer.pointee.streams[Int(index)]!
        av_packet_rescale_ts(packet.pointer, encoderTimeBases[Int(index)], stream.pointee.time_base)
        packet.pointer.pointee.stream_index = index
        try FFmpegError.check(av_interleaved_write_frame(pointer, packet.pointer), "av_interleaved_write_frame", path: path)
    }

    /// Flushes the interleaver, writes the trailer (and the faststart pass) and closes the file.
    func finish() throws {
        try FFmpegError.check(av_write_trailer(pointer), "av_write_trailer", path: path)
        fileOpen = false
        try FFmpegError.check(avio_closep(&pointer.pointee.pb), "avio_closep", path: path)
    }

    deinit {
        if fileOpen { avio_closep(&pointer.pointee.pb) }
        avformat_free_context(pointer)
    }
}

/// Owns an input `AVFormatContext`: open a file, find its streams, read packets.
final class InputFormat {
    private var context: UnsafeMutablePointer<AVFormatContext>?
    let path: String

    init(path: String) throws {
        self.path = path
        try InputFile.requireRegular(URL(fileURLWithPath: path))
        let status = avformat_open_input(&context, path, nil, nil)
        guard status >= 0 else {
            throw MediaError.unreadableFile(path: path, reason: "avformat_open_input: \(FFmpegError.message(for: status))")
        }
        try FFmpegError.check(avformat_find_stream_info(context, nil), "avformat_find_stream_info", path: path)
    }

    var pointer: UnsafeMutablePointer<AVFormatContext> { context! }

    var streamCount: Int { Int(pointer.pointee.nb_streams) }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { pointer.pointee.streams[index]! }

    /// The index of the best stream of a media type, or nil.
    func bestStream(_ type: AVMediaType) -> Int? {
        let index = av_find_best_stream(pointer, type, -1, -1, nil, 0)
        return index >= 0 ? Int(index) : nil
    }

    /// Reads the next packet into `packet`; false at the end of the file.
    func read(into packet: Packet) throws -> Bool {
        av_packet_unref(packet.pointer)
        let status = av_read_frame(pointer, packet.pointer)
        if status == FFmpegError.endOfFile { return false }
        try FFmpegError.check(status, "av_read_frame", path: path)
        return true
    }

    /// Container metadata tags.
    var metadata: [String: String] { Self.tags(pointer.pointee.metadata) }

    static func tags(_ dictionary: OpaquePointer?) -> [String: String] {
        var tags: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>?
        while let next = av_dict_get(dictionary, "", entry, AV_DICT_IGNORE_SUFFIX) {
            tags[String(cString: next.pointee.key)] = String(cString: next.pointee.value)
            entry = next
        }
        return tags
    }

    deinit {
        avformat_close_input(&context)
    }
}
