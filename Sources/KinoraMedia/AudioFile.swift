import CSndFile
import Foundation

/// The audio file formats Kinora writes through libsndfile.
public enum AudioFileFormat: String, CaseIterable, Sendable {
    /// WAV, 16-bit integer PCM.
    case wav16
    /// WAV, 24-bit integer PCM.
    case wav24
    /// WAV, 32-bit float.
    case wavFloat = "wavf"
    /// FLAC, 16-bit.
    case flac16
    /// FLAC, 24-bit.
    case flac24
    /// Ogg Vorbis (lossy).
    case ogg

    /// The default format for a path's extension: 24-bit for WAV and FLAC, Vorbis for OGG.
    public init(for url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "wav", "wave": self = .wav24
        case "flac": self = .flac24
        case "ogg", "oga": self = .ogg
        default: throw MediaError.unsupportedFormat(path: url.path)
        }
    }

    var sndfileFormat: Int32 {
        switch self {
        case .wav16: Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        case .wav24: Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_24)
        case .wavFloat: Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
        case .flac16: Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
        case .flac24: Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_24)
        case .ogg: Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
        }
    }
}

/// Reads and writes audio files through libsndfile (WAV, FLAC, OGG, and whatever else it reads).
public enum AudioFile {
    /// Reads a whole file as float samples.
    public static func read(_ url: URL) throws -> AudioBuffer {
        try InputFile.requireRegular(url)
        let file = try SoundFile(reading: url.path)
        let samples = try file.readAll()
        return try AudioBuffer(sampleRate: file.sampleRate, channels: file.channels, samples: samples)
    }

    /// Writes `buffer` to `url` (atomically: under a temporary name, renamed when complete). The format defaults
    /// to the one for the extension. Samples beyond ±1 are clipped in integer formats.
    public static func write(_ buffer: AudioBuffer, to url: URL, format: AudioFileFormat? = nil) throws {
        let format = try format ?? AudioFileFormat(for: url)
        let output = try AtomicOutput(url)
        do {
            let file = try SoundFile(writing: output.temporaryURL.path, format: format.sndfileFormat,
                                     sampleRate: buffer.sampleRate, channels: buffer.channels)
            try file.write(buffer.samples)
            try file.close()
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }
}

/// Audio a consumer pulls in pieces, so a long soundtrack is never held whole: a file read block by block
/// (``AudioFileReader``) or a buffer already in memory (``AudioBufferSource``).
public protocol AudioSource: AnyObject {
    /// Samples per second of each channel.
    var sampleRate: Int { get }
    /// Number of interleaved channels.
    var channels: Int { get }
    /// Frames in all.
    var frameCount: Int { get }
    /// The next `frames` frames, interleaved; fewer (none at the end) only when the audio ends.
    func read(frames: Int) throws -> [Float]
}

/// An ``AudioSource`` over a buffer in memory.
public final class AudioBufferSource: AudioSource {
    private let buffer: AudioBuffer
    private var position = 0

    public init(_ buffer: AudioBuffer) {
        self.buffer = buffer
    }

    public var sampleRate: Int { buffer.sampleRate }
    public var channels: Int { buffer.channels }
    public var frameCount: Int { buffer.frameCount }

    public func read(frames: Int) throws -> [Float] {
        let end = min(buffer.frameCount, position + max(0, frames))
        defer { position = end }
        return Array(buffer.samples[(position * channels)..<(end * channels)])
    }
}

/// Reads an audio file in pieces through libsndfile, in order (``read(frames:)``) or at any place
/// (``read(_:)``), holding only the piece asked for.
public final class AudioFileReader: AudioSource {
    private let file: SoundFile

    public init(url: URL) throws {
        try InputFile.requireRegular(url)
        file = try SoundFile(reading: url.path)
    }

    public var sampleRate: Int { file.sampleRate }
    public var channels: Int { file.channels }
    public var frameCount: Int { file.frameCount }

    public func read(frames: Int) throws -> [Float] {
        try file.read(frames: frames)
    }

    /// The frames `range` (cut at the file's end), interleaved; the next ``read(frames:)`` continues after them.
    public func read(_ range: Range<Int>) throws -> [Float] {
        try file.seek(to: range.lowerBound)
        return try file.read(frames: range.count)
    }
}

/// Writes an audio file in pieces through libsndfile, under a temporary name renamed by ``finish()``; a writer
/// dropped unfinished leaves nothing.
public final class AudioFileWriter {
    private let output: AtomicOutput
    private var file: SoundFile?
    /// Frames written so far.
    public private(set) var frameCount = 0

    public init(url: URL, format: AudioFileFormat? = nil, sampleRate: Int, channels: Int) throws {
        let format = try format ?? AudioFileFormat(for: url)
        output = try AtomicOutput(url)
        do {
            file = try SoundFile(writing: output.temporaryURL.path, format: format.sndfileFormat,
                                 sampleRate: sampleRate, channels: channels)
        } catch {
            output.discard()
            throw error
        }
    }

    /// Appends interleaved samples (a whole number of frames).
    public func append(_ samples: [Float]) throws {
        guard let file else { throw MediaError.writerClosed(path: output.finalURL.path) }
        do {
            try file.write(samples)
            frameCount += samples.count / file.channels
        } catch {
            abandon()
            throw error
        }
    }

    /// Closes the file and moves it to its final name.
    public func finish() throws {
        guard let file else { throw MediaError.writerClosed(path: output.finalURL.path) }
        do {
            try file.close()
            self.file = nil
            try output.commit()
        } catch {
            abandon()
            throw error
        }
    }

    private func abandon() {
        file = nil
        output.discard()
    }

    deinit {
        if file != nil { abandon() }
    }
}

/// Owns a libsndfile `SNDFILE` handle.
final class SoundFile {
    private var handle: OpaquePointer?
    private var info = SF_INFO()
    let path: String

    init(reading path: String) throws {
        self.path = path
        handle = sf_open(path, Int32(SFM_READ), &info)
        guard handle != nil else {
            throw MediaError.unreadableFile(path: path, reason: "sf_open: " + String(cString: sf_strerror(nil)))
        }
    }

    init(writing path: String, format: Int32, sampleRate: Int, channels: Int) throws {
        self.path = path
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard sf_format_check(&info) == Int32(SF_TRUE) else {
            throw MediaError.invalidArgument(
                "libsndfile cannot write this format with \(channels) channels at \(sampleRate) Hz ('\(path)')")
        }
        handle = sf_open(path, Int32(SFM_WRITE), &info)
        guard handle != nil else {
            throw MediaError.sndfile(call: "sf_open", message: String(cString: sf_strerror(nil)), path: path)
        }
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
    }

    var sampleRate: Int { Int(info.samplerate) }
    var channels: Int { Int(info.channels) }
    var frameCount: Int { Int(info.frames) }

    /// Up to `frames` frames from the current position, fewer only at the end.
    func read(frames: Int) throws -> [Float] {
        var samples = [Float](repeating: 0, count: max(0, frames) * channels)
        let read = samples.withUnsafeMutableBufferPointer {
            sf_readf_float(handle, $0.baseAddress, sf_count_t(max(0, frames)))
        }
        if read < 0 || sf_error(handle) != 0 {
            throw MediaError.sndfile(call: "sf_readf_float", message: String(cString: sf_strerror(handle)),
                                     path: path)
        }
        samples.removeLast(samples.count - Int(read) * channels)
        return samples
    }

    /// Moves the read position to `frame` (clamped to the file).
    func seek(to frame: Int) throws {
        let target = sf_count_t(min(max(0, frame), frameCount))
        guard sf_seek(handle, target, SEEK_SET) == target else {
            throw MediaError.sndfile(call: "sf_seek", message: String(cString: sf_strerror(handle)), path: path)
        }
    }

    func readAll() throws -> [Float] {
        var samples: [Float] = []
        var chunk = [Float](repeating: 0, count: 65536 * channels)
        while true {
            let read = chunk.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress, 65536) }
            if read < 0 {
                throw MediaError.sndfile(call: "sf_readf_float", message: String(cString: sf_strerror(handle)),
                                         path: path)
            }
            if read == 0 { break }
            samples.append(contentsOf: chunk[0..<(Int(read) * channels)])
        }
        if sf_error(handle) != 0 {
            throw MediaError.sndfile(call: "sf_readf_float", message: String(cString: sf_strerror(handle)), path: path)
        }
        return samples
    }

    func write(_ samples: [Float]) throws {
        let frames = samples.count / channels
        let written = samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t(frames)) }
        guard written == frames else {
            throw MediaError.sndfile(call: "sf_writef_float", message: String(cString: sf_strerror(handle)), path: path)
        }
    }

    func close() throws {
        let status = sf_close(handle)
        handle = nil
        guard status == 0 else {
            throw MediaError.sndfile(call: "sf_close", message: String(cString: sf_error_number(status)), path: path)
        }
    }

    deinit {
        if handle != nil { sf_close(handle) }
    }
}
