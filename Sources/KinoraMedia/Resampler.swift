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

/// Owns a `SwrContext` converting packed float audio between two sample rates.
final class SwrContextHandle {
    private var context: OpaquePointer?
    private let channels: Int

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
    }
}
