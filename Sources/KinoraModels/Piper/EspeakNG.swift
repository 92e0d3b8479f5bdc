import CEspeakNG
import Foundation

/// libespeak-ng's text-to-IPA translation, the one call Piper's front end makes. espeak-ng keeps its state in process
/// globals, so one shared instance initialises the library once and serialises every call behind a lock. This is the
/// only file of the Piper front end that touches C pointers.
public final class EspeakNG: @unchecked Sendable {
    /// The process-wide instance.
    public static let shared = EspeakNG()

    /// Where the `espeak-ng-data` package puts the data (Debian's multiarch folders first); `ESPEAK_DATA_PATH`, when
    /// set, is tried before them.
    public static let dataDirectoryCandidates = [
        "/usr/lib/x86_64-linux-gnu/espeak-ng-data", "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
        "/usr/share/espeak-ng-data", "/usr/local/share/espeak-ng-data",
    ]

    private let lock = NSLock()
    private var initialized = false
    private var currentVoice: String?

    private init() {}

    /// The IPA phonemes espeak-ng gives for `text` in `voice` (e.g. `en-us`). espeak-ng translates one clause per
    /// call; the clauses it finds in `text` are concatenated as they come, without separators, which is what Piper's
    /// loop produces when a clause ends without punctuation (a clause longer than espeak's buffer).
    public func phonemes(for text: String, voice: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        try initializeIfNeeded()
        if currentVoice != voice {
            guard espeak_SetVoiceByName(voice) == EE_OK else { throw PiperError.unknownEspeakVoice(voice: voice) }
            currentVoice = voice
        }
        var result = ""
        text.withCString { base in
            var cursor: UnsafeRawPointer? = UnsafeRawPointer(base)
            while cursor != nil {
                guard let phonemes = espeak_TextToPhonemes(&cursor, espeakCHARS_UTF8, espeakPHONEMES_IPA) else {
                    break
                }
                result += String(cString: phonemes)
            }
        }
        return result
    }

    /// Must be called with the lock held.
    private func initializeIfNeeded() throws {
        guard !initialized else { return }
        let environment = ProcessInfo.processInfo.environment["ESPEAK_DATA_PATH"].map { [$0] } ?? []
        let candidates = environment + Self.dataDirectoryCandidates
        guard let dataDirectory = candidates.first(where: {
            FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("phontab"))
        }) else {
            throw PiperError.espeakUnavailable(reason: "no espeak-ng-data folder (with phontab) in "
                + candidates.joined(separator: ", "))
        }
        let sampleRate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, dataDirectory, espeakINITIALIZE_DONT_EXIT)
        guard sampleRate > 0 else {
            throw PiperError.espeakUnavailable(
                reason: "espeak_Initialize failed with \(sampleRate) for \(dataDirectory)")
        }
        initialized = true
    }
}
