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

    func readAll() throws -> [Float] {
        var samples: [Float] = []
        var chunk = [Float](repeating: 0, count: 65536 * channels)
        while true {
            let read = chunk.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress, 65536) }
            if read < 0 {
                throw MediaError.sndfile(call: "sf_readf_float", message: String(cString: sf_strerror(handle)), path: path)
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
