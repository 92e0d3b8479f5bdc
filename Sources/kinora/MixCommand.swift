import ArgumentParser
import Foundation
import KinoraMedia

/// `kinora mix`: tracks with offsets, gains, fades, pan and roles into one loudness-normalised audio file.
struct MixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mix",
        abstract: "Mix audio tracks into one file, ducking music under voice and normalising the loudness.",
        discussion: """
            Each TRACK is a file with optional settings after a colon, separated by commas:
              start=SECONDS  gain=DB  fadein=SECONDS  fadeout=SECONDS  pan=-1...1  role=voice|music|effect
            Example: kinora mix music.flac:role=music,gain=-3,fadeout=2 line1.wav:role=voice,start=1.5 -o mix.wav
            """)

    @Argument(help: "Tracks: FILE[:key=value,...].")
    var tracks: [String]

    @Option(name: .shortAndLong, help: "The mix (.wav, .flac or .ogg).")
    var output: String

    @Option(help: "File format: wav16, wav24, wavf (float), flac16, flac24 or ogg; default from the extension.")
    var format: String?

    @Option(help: "Integrated loudness target in LUFS.")
    var target: Double = -14

    @Option(help: "True-peak ceiling in dBTP.")
    var truePeak: Double = -1

    @Flag(help: "Keep the level as it is instead of normalising it.")
    var noNormalize = false

    @Option(help: "How far music is turned down under voice, in dB.")
    var duck: Double = -12

    @Flag(help: "Do not duck music under voice.")
    var noDuck = false

    @Option(help: "Sample rate of the mix.")
    var sampleRate: Int = 48000

    @Option(help: "Also write each track, as placed in the mix, into this directory.")
    var stems: String?

    func run() throws {
        let fileFormat = try format.map { name in
            guard let value = AudioFileFormat(rawValue: name) else {
                throw ValidationError("unknown format '\(name)'; use wav16, wav24, wavf, flac16, flac24 or ogg")
            }
            return value
        }
        let settings = MixSettings(sampleRate: sampleRate, ducking: noDuck ? nil : DuckingSettings(reductionDB: duck),
                                   loudnessTarget: noNormalize ? nil : target, truePeakCeiling: truePeak)
        let url = URL(fileURLWithPath: output)
        // Both destinations are checked before any work, and the mix is written last: a failure leaves no mix.
        _ = try AtomicOutput(url)
        let stemsFolder = try stems.map(Self.stemsFolder)
        let result = try Mixer(settings: settings).mix(tracks.map(Self.track))
        if let stemsFolder {
            let ext = url.pathExtension.isEmpty ? "wav" : url.pathExtension
            for (index, stem) in result.stems.enumerated() {
                let name = URL(fileURLWithPath: stem.name).deletingPathExtension().lastPathComponent
                let stemURL = stemsFolder.appendingPathComponent(String(format: "%02d-%@.%@", index + 1, name, ext))
                try AudioFile.write(stem.audio, to: stemURL, format: fileFormat)
            }
        }
        try AudioFile.write(result.mix, to: url, format: fileFormat)
        let loudness = try result.loudness ?? Loudness.measure(result.mix)
        if let target = settings.loudnessTarget, abs(loudness.integrated - target) > 0.5 {
            let reached = String(format: "%.1f", loudness.integrated), wanted = String(format: "%.1f", target)
            FileHandle.standardError.write(Data(("warning: the mix reaches \(reached) LUFS, not \(wanted): the "
                + "true-peak ceiling and the limiter's 12 dB cap allow no more\n").utf8))
        }
        print("wrote \(url.path): \(String(format: "%.2f", result.mix.duration)) s, "
              + "\(String(format: "%.1f", loudness.integrated)) LUFS, \(String(format: "%.1f", loudness.truePeak)) dBTP")
    }

    /// The `--stems` folder, created when missing and checked writable.
    static func stemsFolder(_ path: String) throws -> URL {
        let folder = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw Kinora.Failure(description: "--stems \(path): cannot create the folder: \(ErrorText.plain(error))")
        }
        _ = try AtomicOutput(folder.appendingPathComponent("stem"))
        return folder
    }

    /// Parses FILE[:key=value,...].
    static func track(_ spec: String) throws -> MixTrack {
        var path = spec
        var options: [Substring] = []
        if let colon = spec.lastIndex(of: ":"), spec[spec.index(after: colon)...].contains("=") {
            path = String(spec[..<colon])
            options = spec[spec.index(after: colon)...].split(separator: ",")
        }
        var track = MixTrack(name: path, audio: try AudioFile.read(URL(fileURLWithPath: path)))
        for option in options {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw ValidationError("track option '\(option)' in '\(spec)' is not key=value") }
            if pair[0] == "role" {
                guard let role = TrackRole(rawValue: pair[1]) else {
                    throw ValidationError("role must be voice, music or effect, got '\(pair[1])'")
                }
                track.role = role
                continue
            }
            guard let value = Double(pair[1]) else {
                throw ValidationError("track option '\(pair[0])' in '\(spec)' needs a number, got '\(pair[1])'")
            }
            switch pair[0] {
            case "start": track.start = value
            case "gain": track.gainDB = value
            case "fadein": track.fadeIn = value
            case "fadeout": track.fadeOut = value
            case "pan": track.pan = value
            default: throw ValidationError("unknown track option '\(pair[0])' in '\(spec)'")
            }
        }
        return track
    }
}
