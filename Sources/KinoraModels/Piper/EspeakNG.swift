import CEspeakNG
import Foundation

/// libespeak-ng's text-to-IPA translation, the one call Piper's front end makes. espeak-ng keeps its state in process
/// globals, so one shared instance loads (dlopen) and initialises the library once and serialises every call behind a
/// lock. This is the only file of the Piper front end that touches C pointers.
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
    private var functions: KespeakFunctions?
    private var currentVoice: String?

    init() {}

    /// The IPA phonemes espeak-ng gives for `text` in `voice` (e.g. `en-us`). espeak-ng translates one clause per
    /// call; the clauses it finds in `text` are concatenated as they come, without separators, which is what Piper's
    /// loop produces when a clause ends without punctuation (a clause longer than espeak's buffer).
    public func phonemes(for text: String, voice: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        let library = try initializeIfNeeded()
        if currentVoice != voice {
            guard library.setVoiceByName(voice) == EE_OK else { throw PiperError.unknownEspeakVoice(voice: voice) }
            currentVoice = voice
        }
        var result = ""
        text.withCString { base in
            var cursor: UnsafeRawPointer? = UnsafeRawPointer(base)
            while cursor != nil {
                guard let phonemes = library.textToPhonemes(&cursor, espeakCHARS_UTF8, espeakPHONEMES_IPA) else {
                    break
                }
                result += String(cString: phonemes)
            }
        }
        return result
    }

    /// The library's calls, loaded and initialised on first use. Must be called with the lock held.
    private func initializeIfNeeded() throws -> Library {
        if let functions, let library = Library(functions) { return library }
        var loaded = KespeakFunctions()
        if let failure = kespeak_load(&loaded) {
            throw PiperError.espeakUnavailable(reason: String(cString: failure))
        }
        guard let library = Library(loaded) else {
            throw PiperError.espeakUnavailable(reason: "libespeak-ng loaded without its calls")
        }
        let environment = ProcessInfo.processInfo.environment["ESPEAK_DATA_PATH"].map { [$0] } ?? []
        let candidates = environment + Self.dataDirectoryCandidates
        guard let dataDirectory = candidates.first(where: {
            FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("phontab"))
        }) else {
            throw PiperError.espeakUnavailable(reason: "no espeak-ng-data folder (with phontab) in "
                + candidates.joined(separator: ", "))
        }
        let sampleRate = library.initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, dataDirectory, espeakINITIALIZE_DONT_EXIT)
        guard sampleRate > 0 else {
            throw PiperError.espeakUnavailable(
                reason: "espeak_Initialize failed with \(sampleRate) for \(dataDirectory)")
        }
        functions = loaded
        return library
    }

    /// The loaded calls, each present.
    private struct Library {
        var initialize: @convention(c) (espeak_AUDIO_OUTPUT, Int32, UnsafePointer<CChar>?, Int32) -> Int32
        var setVoiceByName: @convention(c) (UnsafePointer<CChar>?) -> espeak_ERROR
        var textToPhonemes: @convention(c) (UnsafeMutablePointer<UnsafeRawPointer?>?, Int32, Int32)
            -> UnsafePointer<CChar>?

        init?(_ functions: KespeakFunctions) {
            guard let initialize = functions.initialize, let setVoice = functions.set_voice_by_name,
                  let textToPhonemes = functions.text_to_phonemes else { return nil }
            self.initialize = initialize
            self.setVoiceByName = setVoice
            self.textToPhonemes = textToPhonemes
        }
    }
}
