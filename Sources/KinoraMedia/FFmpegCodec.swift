import CFFmpeg

/// Owns an `AVPacket`.
final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>

    init() throws {
        guard let packet = av_packet_alloc() else { throw FFmpegError.error("av_packet_alloc", FFmpegError.outOfMemory) }
        pointer = packet
    }

    /// A packet holding a copy of `bytes`.
    convenience init(bytes: [UInt8]) throws {
        try self.init()
        try FFmpegError.check(av_new_packet(pointer, Int32(bytes.count)), "av_new_packet")
        bytes.withUnsafeBytes { source in
            pointer.pointee.data.update(from: source.bindMemory(to: UInt8.self).baseAddress!, count: bytes.count)
        }
    }

    var streamIndex: Int32 { pointer.pointee.stream_index }

    /// A copy of the packet's payload.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: pointer.pointee.data, count: Int(pointer.pointee.size))) }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }
}

/// Owns an `AVFrame`.
final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    init() throws {
        guard let frame = av_frame_alloc() else { throw FFmpegError.error("av_frame_alloc", FFmpegError.outOfMemory) }
        pointer = frame
    }

    /// A frame with its own picture buffers.
    convenience init(width: Int, height: Int, pixelFormat: AVPixelFormat) throws {
        try self.init()
        pointer.pointee.width = Int32(width)
        pointer.pointee.height = Int32(height)
        pointer.pointee.format = pixelFormat.rawValue
        try FFmpegError.check(av_frame_get_buffer(pointer, 0), "av_frame_get_buffer")
    }

    /// A frame with its own sample buffers.
    convenience init(samples: Int, sampleFormat: AVSampleFormat, channels: Int, sampleRate: Int) throws {
        try self.init()
        pointer.pointee.nb_samples = Int32(samples)
        pointer.pointee.format = sampleFormat.rawValue
        pointer.pointee.sample_rate = Int32(sampleRate)
        av_channel_layout_default(&pointer.pointee.ch_layout, Int32(channels))
        try FFmpegError.check(av_frame_get_buffer(pointer, 0), "av_frame_get_buffer")
    }

    var pts: Int64 {
        get { pointer.pointee.pts }
        set { pointer.pointee.pts = newValue }
    }

    func makeWritable() throws {
        try FFmpegError.check(av_frame_make_writable(pointer), "av_frame_make_writable")
    }

    /// Copies `height` rows of `rowBytes` bytes each from the tightly packed `rows` into the first plane, at its
    /// stride. `rows` must hold them all and the plane must be at least that large.
    func copyRows(from rows: UnsafeBufferPointer<UInt8>, rowBytes: Int, height: Int) {
        precondition(rows.count >= rowBytes * height && rowBytes <= Int(pointer.pointee.linesize.0))
        guard let source = rows.baseAddress, let plane = pointer.pointee.data.0 else { return }
        let stride = Int(pointer.pointee.linesize.0)
        for row in 0..<height {
            (plane + row * stride).update(from: source + row * rowBytes, count: rowBytes)
        }
    }

    /// Copies `height` rows of `rowBytes` bytes each of the first plane into `rows`, tightly packed.
    func copyRows(to rows: UnsafeMutableBufferPointer<UInt8>, rowBytes: Int, height: Int) {
        precondition(rows.count >= rowBytes * height && rowBytes <= Int(pointer.pointee.linesize.0))
        guard let target = rows.baseAddress, let plane = pointer.pointee.data.0 else { return }
        let stride = Int(pointer.pointee.linesize.0)
        for row in 0..<height {
            (target + row * rowBytes).update(from: plane + row * stride, count: rowBytes)
        }
    }

    /// Copies `count` frames of interleaved float audio starting at frame `start` of `samples` into this frame,
    /// as packed or planar float; frames past the end of `samples` become silence.
    func fillAudio(from samples: [Float], channels: Int, start: Int, count: Int, planar: Bool) {
        let available = max(0, min(count, samples.count / channels - start))
        samples.withUnsafeBufferPointer { source in
            withUnsafeMutablePointer(to: &pointer.pointee.data) { tuple in
                tuple.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { planes in
                    if planar {
                        for channel in 0..<channels {
                            let plane = UnsafeMutableRawPointer(planes[channel]!).bindMemory(to: Float.self, capacity: count)
                            for i in 0..<count {
                                plane[i] = i < available ? source[(start + i) * channels + channel] : 0
                            }
                        }
                    } else {
                        let plane = UnsafeMutableRawPointer(planes[0]!).bindMemory(to: Float.self, capacity: count * channels)
                        for i in 0..<(count * channels) {
                            plane[i] = i < available * channels ? source[start * channels + i] : 0
                        }
                    }
                }
            }
        }
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }
}

/// Owns an `AVCodecContext`, as an encoder or a decoder.
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>
    let codec: UnsafePointer<AVCodec>
    let name: String

    private init(codec: UnsafePointer<AVCodec>) throws {
        FFmpegLog.quietOnce()
        guard let context = avcodec_alloc_context3(codec) else {
            throw FFmpegError.error("avcodec_alloc_context3", FFmpegError.outOfMemory)
        }
        self.codec = codec
        pointer = context
        name = String(cString: codec.pointee.name)
    }

    /// An encoder by libavcodec name; throws ``MediaError/codecUnavailable(name:)`` if this build lacks it.
    convenience init(encoderNamed name: String) throws {
        guard let codec = avcodec_find_encoder_by_name(name) else { throw MediaError.codecUnavailable(name: name) }
        try self.init(codec: codec)
    }

    /// An opened decoder for a demuxed stream.
    convenience init(decoderFor stream: UnsafeMutablePointer<AVStream>, path: String) throws {
        let parameters = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw MediaError.codecUnavailable(name: String(cString: avcodec_get_name(parameters.pointee.codec_id)))
        }
        try self.init(codec: codec)
        try FFmpegError.check(avcodec_parameters_to_context(pointer, parameters), "avcodec_parameters_to_context", path: path)
        // Lets the decoder move a frame's timestamp past the samples it skips (an audio stream's priming).
        pointer.pointee.pkt_timebase = stream.pointee.time_base
        pointer.pointee.thread_count = 0
        try FFmpegError.check(avcodec_open2(pointer, codec, nil), "avcodec_open2(\(name))", path: path)
    }

    /// The codec's id, for asking a muxer whether it can store it.
    var codecID: AVCodecID { codec.pointee.id }

    var timeBase: AVRational { pointer.pointee.time_base }
    var frameSize: Int { Int(pointer.pointee.frame_size) }
    var sampleRate: Int { Int(pointer.pointee.sample_rate) }
    var sampleFormat: AVSampleFormat { pointer.pointee.sample_fmt }

    /// Sets up a video encoder: size, pixel format, frame rate as time base, and BT.709 colour tags for YUV.
    func configureVideo(width: Int, height: Int, pixelFormat: AVPixelFormat, frameRate: FrameRate, bt709: Bool,
                        globalHeader: Bool) {
        let context = pointer
        context.pointee.width = Int32(width)
        context.pointee.height = Int32(height)
        context.pointee.pix_fmt = pixelFormat
        context.pointee.time_base = AVRational(num: Int32(frameRate.denominator), den: Int32(frameRate.numerator))
        context.pointee.framerate = AVRational(num: Int32(frameRate.numerator), den: Int32(frameRate.denominator))
        context.pointee.thread_count = 0
        if bt709 {
            context.pointee.color_primaries = AVCOL_PRI_BT709
            context.pointee.color_trc = AVCOL_TRC_BT709
            context.pointee.colorspace = AVCOL_SPC_BT709
            context.pointee.color_range = AVCOL_RANGE_MPEG
        }
        if globalHeader { context.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
    }

    /// Fixed quantiser quality (MJPEG's qscale, 2 best ... 31 worst).
    func setFixedQuality(_ qscale: Int) {
        pointer.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
        pointer.pointee.global_quality = Int32(qscale) * FF_QP2LAMBDA
        pointer.pointee.color_range = AVCOL_RANGE_JPEG
    }

    /// Sets up an audio encoder with the given channel count, the sample rate nearest to `sampleRate` that the
    /// encoder takes, and float samples (planar if the encoder takes them, else packed).
    func configureAudio(sampleRate: Int, channels: Int, bitRate: Int, globalHeader: Bool) throws {
        let context = pointer
        var formats: [AVSampleFormat] = []
        if var cursor = codec.pointee.sample_fmts {
            while cursor.pointee != AV_SAMPLE_FMT_NONE {
                formats.append(cursor.pointee)
                cursor += 1
            }
        }
        if formats.contains(AV_SAMPLE_FMT_FLTP) {
            context.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        } else if formats.contains(AV_SAMPLE_FMT_FLT) {
            context.pointee.sample_fmt = AV_SAMPLE_FMT_FLT
        } else {
            throw MediaError.codecUnavailable(name: "\(name) with float samples")
        }
        var rates: [Int] = []
        if var cursor = codec.pointee.supported_samplerates {
            while cursor.pointee != 0 {
                rates.append(Int(cursor.pointee))
                cursor += 1
            }
        }
        let rate = rates.isEmpty || rates.contains(sampleRate) ? sampleRate
            : rates.min { abs($0 - sampleRate) < abs($1 - sampleRate) }!
        context.pointee.sample_rate = Int32(rate)
        av_channel_layout_default(&context.pointee.ch_layout, Int32(channels))
        context.pointee.bit_rate = Int64(bitRate)
        context.pointee.time_base = AVRational(num: 1, den: Int32(rate))
        if globalHeader { context.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
    }

    /// Sets up a text subtitle encoder with a default ASS style header (what the text encoders parse).
    func configureSubtitles(globalHeader: Bool) {
        let header = """
            [Script Info]
            ScriptType: v4.00+
            PlayResX: 384
            PlayResY: 288

            [V4+ Styles]
            Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, \
            Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, \
            MarginL, MarginR, MarginV, Encoding
            Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

            [Events]
            Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text

            """
        pointer.pointee.time_base = AVRational(num: 1, den: 1000)
        let copy = av_strdup(header)!
        pointer.pointee.subtitle_header = UnsafeMutableRawPointer(copy).assumingMemoryBound(to: UInt8.self)
        pointer.pointee.subtitle_header_size = Int32(header.utf8.count)
        if globalHeader { pointer.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
    }

    /// Opens the encoder with private options; an option the encoder does not know is an error.
    func open(options: [String: String], path: String) throws {
        var dictionary: OpaquePointer?
        defer { av_dict_free(&dictionary) }
        for (key, value) in options.sorted(by: { $0.key < $1.key }) {
            try FFmpegError.check(av_dict_set(&dictionary, key, value, 0), "av_dict_set(\(key))")
        }
        try FFmpegError.check(avcodec_open2(pointer, codec, &dictionary), "avcodec_open2(\(name))", path: path)
        if let unused = av_dict_get(dictionary, "", nil, AV_DICT_IGNORE_SUFFIX) {
            throw MediaError.invalidArgument("\(name) does not take the option '\(String(cString: unused.pointee.key))'")
        }
    }

    /// Sends a frame (or `nil` to flush) and hands every packet the encoder has ready to `body`.
    func encode(_ frame: Frame?, path: String, _ body: (Packet) throws -> Void) throws {
        try FFmpegError.check(avcodec_send_frame(pointer, frame?.pointer), "avcodec_send_frame(\(name))", path: path)
        let packet = try Packet()
        while true {
            let status = avcodec_receive_packet(pointer, packet.pointer)
            if status == FFmpegError.tryAgain || status == FFmpegError.endOfFile { return }
            try FFmpegError.check(status, "avcodec_receive_packet(\(name))", path: path)
            try body(packet)
            av_packet_unref(packet.pointer)
        }
    }

    /// Sends a packet (or `nil` to flush) and hands every decoded frame to `body`.
    func decode(_ packet: Packet?, path: String, _ body: (Frame) throws -> Void) throws {
        let sent = avcodec_send_packet(pointer, packet?.pointer)
        if sent != FFmpegError.endOfFile { try FFmpegError.check(sent, "avcodec_send_packet(\(name))", path: path) }
        let frame = try Frame()
        while true {
            let status = avcodec_receive_frame(pointer, frame.pointer)
            if status == FFmpegError.tryAgain || status == FFmpegError.endOfFile { return }
            try FFmpegError.check(status, "avcodec_receive_frame(\(name))", path: path)
            try body(frame)
            av_frame_unref(frame.pointer)
        }
    }

    /// Encodes one subtitle event of `text` lasting `durationMs` into a packet.
    func encodeSubtitle(text: String, durationMs: Int, path: String) throws -> Packet {
        let escaped = text.replacingOccurrences(of: "\n", with: "\\N")
        let line = av_strdup("0,0,Default,,0,0,0,,\(escaped)")
        defer { av_free(line) }
        var rect = AVSubtitleRect()
        rect.type = SUBTITLE_ASS
        rect.ass = line
        var bytes = [UInt8](repeating: 0, count: 4096 + text.utf8.count * 4)
        let size = withUnsafeMutablePointer(to: &rect) { rectPointer in
            var rects: [UnsafeMutablePointer<AVSubtitleRect>?] = [rectPointer]
            return rects.withUnsafeMutableBufferPointer { rectList in
                var subtitle = AVSubtitle()
                subtitle.num_rects = 1
                subtitle.rects = rectList.baseAddress
                subtitle.start_display_time = 0
                subtitle.end_display_time = UInt32(durationMs)
                return bytes.withUnsafeMutableBufferPointer { buffer in
                    avcodec_encode_subtitle(pointer, buffer.baseAddress, Int32(buffer.count), &subtitle)
                }
            }
        }
        try FFmpegError.check(size, "avcodec_encode_subtitle(\(name))", path: path)
        return try Packet(bytes: Array(bytes.prefix(Int(size))))
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&context)
    }
}
