import Foundation
import KinoraModels

/// The expected output of piper 1.8.0's text front end (scripts/fixtures/make_piper_phoneme_fixtures.py) and the
/// en_US-joe-medium voice config it used, from `Tests/Fixtures/piper-frontend`.
struct PiperFixture: Decodable {
    struct Clause: Decodable, Equatable {
        var terminator: String
        var endsSentence: Bool

        enum CodingKeys: String, CodingKey {
            case terminator
            case endsSentence = "ends_sentence"
        }
    }

    struct Sentence: Decodable {
        var category: String
        var text: String
        var clauses: [Clause]
        var phonemes: [String]
        var ids: [[Int]]
    }

    var sentences: [Sentence]

    static let folder = fixturesFolder.appending(path: "piper-frontend")
    static let configURL = folder.appending(path: "en_US-joe-medium.onnx.json")

    static func load() throws -> PiperFixture {
        try JSONDecoder().decode(PiperFixture.self, from: Data(contentsOf: folder.appending(path: "phoneme_ids.json")))
    }

    static func config() throws -> PiperVoiceConfig {
        try PiperVoiceConfig.load(from: configURL)
    }
}
