import CFFmpeg

/// Changes the sample rate of audio through libswresample.
public enum Resampler {
    /// `buffer` at `sampleRate`; the result has exactly `frameCount × sampleRate / buffer.sampleRate` frames
    /// (rounded), so durations stay exact.
    public static func resample(_ buffer: AudioBuffer, to sampleRate: Int) throws -> AudioBuffer {
        guard sampleRate != buffer.sampleRate else { return buffer }
        try ValueBounds.check(sampleRate, "the sample rate to resample to", in: ValueBounds.sampleRate, unit: "Hz")
        guard buffer.sampleRate <= Int(Int32.max) else {
            throw MediaError.outOfRange(what: "the audio's sample rate", value: String(buffer.sampleRate),
                                        allowed: "1...\(Int32.max) Hz")
        }
        let context = try SwrContextHandle(channels: buffer.channels, from: buffer.sampleRate, to: sampleRate)
        let expected = Int((Double(buffer.frameCount) * Double(sampleRate) / Double(buffer.sampleRate)).rounded())
        var output = try context.convert(buffer.samples, frames: buffer.frameCount, capacity: expected + 256)
        output.append(contentsOf: try context.convert([], frames: 0, capacity: expected + 256))
        let resampled = try AudioBuffer(sampleRate: sampleRate, channels: buffer.channels, samples: output)
        return resampled.resized(to: expected)
    }
}

/// Another ``AudioSource`` at a new sample rate, converted a piece at a time as it is read: the same samples as
/// ``Resampler/resample(_:to:)`` gives the whole audio, exactly as many frames
/// (`frameCount × sampleRate / source.sampleRate`, rounded).
public final class ResampledSource: AudioSource {
    private let source: AudioSource
    private let converter: SwrContextHandle
    public let sampleRate: Int
    public let frameCount: Int
    /// Converted samples not yet read.
    private var pending: [Float] = []
    /// Frames converted so far (read or pending), at most `frameCount`.
    private var converted = 0
    private var drained = false
    private var delivered = 0

    public init(_ source: AudioSource, to sampleRate: Int) throws {
        try ValueBounds.check(sampleRate, "the sample rate to resample to", in: ValueBounds.sampleRate, unit: "Hz")
        try ValueBounds.check(source.sampleRate, "the audio's sample rate", in: ValueBounds.sampleRate, unit: "Hz")
        self.source = source
        self.sampleRate = sampleRate
        converter = try SwrContextHandle(channels: source.channels, from: source.sampleRate, to: sampleRate)
        frameCount = Int((Double(source.frameCount) * Double(sampleRate) / Double(source.sampleRate)).rounded())
    }

    public var channels: Int { source.channels }

    public func read(frames: Int) throws -> [Float] {
        let wanted = min(max(0, frames), frameCount - delivered)
        while pending.count < wanted * channels && !drained {
            let piece = try source.read(frames: max(wanted, 4096))
            let pieceFrames = piece.count / channels
            let capacity = pieceFrames * sampleRate / source.sampleRate + 1024
            let output = try converter.convert(piece, frames: pieceFrames, capacity: capacity)
            drained = pieceFrames == 0
            let kept = min(output.count / channels, frameCount - converted)
            pending += output[0..<(kept * channels)]
            converted += kept
        }
        // Past the converter's last output the audio is padded with silence to its exact length.
        if drained && pending.count < wanted * channels {
            pending += repeatElement(0, count: wanted * channels - pending.count)
            converted = frameCount
        }
        let samples = Array(pending[0..<(wanted * channels)])
        pending.removeFirst(wanted * channels)
        delivered += wanted
        return samples
    }
}

/// Owns a `SwrContext` converting audio to packed float: between two sample rates, or from decoded frames.
final class SwrContextHandle {
    private var context: OpaquePointer?
    /// Channels of the packed float output.
    let channels: Int
    /// The sample format, rate and channel layout of the decoded frames this converter was made for.
    private var inputFormat = AV_SAMPLE_FMT_NONE.rawValue
    private var inputRate: Int32 = 0
    private var inputLayout = AVChannelLayout()

    init(channels: Int, from inputRate: Int, to outputRate: Int) throws {
        self.channels = channels
        var outputLayout = AVChannelLayout()
        var inputLayout = AVChannelLayout()
        av_channel_layout_default(&outputLayout, Int32(channels))
        av_channel_layout_default(&inputLayout, Int32(channels))
        defer {
            av_channel_layout_uninit(&outputLayout)
            av_channel_layout_uninit(&inputLayout)
        }
        try FFmpegError.check(
            swr_alloc_set_opts2(&context, &outputLayout, AV_SAMPLE_FMT_FLT, Int32(outputRate), &inputLayout,
                                AV_SAMPLE_FMT_FLT,
                                Int32(inputRate), 0, nil), "swr_alloc_set_opts2")
        try FFmpegError.check(av_opt_set_int(UnsafeMutableRawPointer(context), "filter_size", 64, 0), "av_opt_set_int")
        try FFmpegError.check(swr_init(context), "swr_init")
    }

    /// Converts decoded frames shaped like `frame` (any sample format, channel layout and rate) to packed float with
    /// `channels` channels at `outputRate`. The same number of channels keeps its layout; other counts go through
    /// libswresample's matrix: downmixing to stereo puts the front centre and the surrounds in at -3 dB and leaves the
    /// LFE out, and every matrix is scaled down so that no output channel's gains sum past 1, so a full-scale input
    /// cannot clip. A layout that names no channel positions is taken as the default layout for its channel count.
    init(convertingFramesLike frame: Frame, channels: Int, rate outputRate: Int, path: String) throws {
        let source = frame.pointer.pointee
        self.channels = channels
        inputFormat = source.format
        inputRate = source.sample_rate
        var inputLayout = AVChannelLayout()
        var outputLayout = AVChannelLayout()
        defer {
            av_channel_layout_uninit(&inputLayout)
            av_channel_layout_uninit(&outputLayout)
        }
        if source.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&inputLayout, source.ch_layout.nb_channels)
        } else {
            try FFmpegError.check(
                av_channel_layout_copy(&inputLayout, &frame.pointer.pointee.ch_layout), "av_channel_layout_copy",
                path: path)
        }
        if Int(inputLayout.nb_channels) == channels {
            try FFmpegError.check(av_channel_layout_copy(&outputLayout, &inputLayout), "av_channel_layout_copy",
                                  path: path)
        } else {
            av_channel_layout_default(&outputLayout, Int32(channels))
        }
        try FFmpegError.check(
            av_channel_layout_copy(&self.inputLayout, &frame.pointer.pointee.ch_layout), "av_channel_layout_copy",
            path: path)
        try FFmpegError.check(
            swr_alloc_set_opts2(&context, &outputLayout, AV_SAMPLE_FMT_FLT, Int32(outputRate), &inputLayout,
                                AVSampleFormat(rawValue: source.format), source.sample_rate, 0, nil),
            "swr_alloc_set_opts2", path: path)
        try FFmpegError.check(av_opt_set_int(UnsafeMutableRawPointer(context), "filter_size", 64, 0), "av_opt_set_int",
                              path: path)
        try FFmpegError.check(
            av_opt_set_double(UnsafeMutableRawPointer(context), "rematrix_maxval", 1, 0), "av_opt_set_double",
            path: path)
        try FFmpegError.check(swr_init(context), "swr_init", path: path)
    }

    /// Whether `frame` has the sample format, rate and channel layout this converter was made for.
    func accepts(_ frame: Frame) -> Bool {
        frame.pointer.pointee.format == inputFormat && frame.pointer.pointee.sample_rate == inputRate
            && av_channel_layout_compare(&inputLayout, &frame.pointer.pointee.ch_layout) == 0
    }

    /// Converts one decoded frame (nil drains what the resampler holds back) to packed float samples.
    func convert(_ frame: Frame?, path: String) throws -> [Float] {
        let inputCount = frame?.pointer.pointee.nb_samples ?? 0
        let capacity = try FFmpegError.check(swr_get_out_samples(context, inputCount), "swr_get_out_samples",
                                             path: path)
        guard capacity > 0 else { return [] }
        var output = [Float](repeating: 0, count: Int(capacity) * channels)
        let produced = output.withUnsafeMutableBufferPointer { out in
            var outPlanes: [UnsafeMutablePointer<UInt8>?] = [
                UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: UInt8.self)]
            guard let frame else { return swr_convert(context, &outPlanes, capacity, nil, 0) }
            let inPlanes = UnsafeMutableRawPointer(frame.pointer.pointee.extended_data)
                .assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
            return swr_convert(context, &outPlanes, capacity, inPlanes, inputCount)
        }
        try FFmpegError.check(produced, "swr_convert", path: path)
        output.removeLast(output.count - Int(produced) * channels)
        return output
    }

    /// Converts `frames` frames of `samples` (empty to drain) and returns what the resampler outputs.
    func convert(_ samples: [Float], frames: Int, capacity: Int) throws -> [Float] {
        var output = [Float](repeating: 0, count: capacity * channels)
        let produced = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                var outPlanes: [UnsafeMutablePointer<UInt8>?] = [
                    UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: UInt8.self)]
                var inPlanes: [UnsafePointer<UInt8>?] = [
                    input.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) }]
                if frames == 0 { return swr_convert(context, &outPlanes, Int32(capacity), nil, 0) }
                return swr_convert(context, &outPlanes, Int32(capacity), &inPlanes, Int32(frames))
            }
        }
        try FFmpegError.check(produced, "swr_convert")
        output.removeLast(output.count - Int(produced) * channels)
        return output
    }

    deinit {
        swr_free(&context)
        av_channel_layout_uninit(&inputLayout)
    }
}
