import KinoraModels
import XCTest

final class PiperSpeakerTests: XCTestCase {
    private func config(speakers: Int, names: [String: Int] = [:], defaultID: Int = 0) -> PiperVoiceConfig {
        PiperVoiceConfig(sampleRate: 22050, espeakVoice: "en-us", phonemeIDMap: ["_": [0], "^": [1], "$": [2]],
                         numSymbols: 3, numSpeakers: speakers, speakerIDMap: names, defaultSpeakerID: defaultID)
    }

    func testPiperSingleSpeakerVoicesTakeNoSpeakerID() throws {
        XCTAssertNil(try PiperSpeaker.resolve(nil, in: config(speakers: 1)))
        XCTAssertNil(try PiperSpeaker.resolve(.id(0), in: config(speakers: 1)))
        XCTAssertThrowsError(try PiperSpeaker.resolve(.id(1), in: config(speakers: 1))) {
            XCTAssertEqual($0 as? PiperError, .speakerOutOfRange(id: 1, speakers: 1))
        }
    }

    func testPiperMultiSpeakerVoicesResolveIDsNamesAndTheDefault() throws {
        let voice = config(speakers: 4, names: ["ann": 2, "bob": 3], defaultID: 1)
        XCTAssertEqual(try PiperSpeaker.resolve(nil, in: voice), 1)
        XCTAssertEqual(try PiperSpeaker.resolve(PiperSpeaker(argument: "3"), in: voice), 3)
        XCTAssertEqual(try PiperSpeaker.resolve(PiperSpeaker(argument: "ann"), in: voice), 2)
        XCTAssertThrowsError(try PiperSpeaker.resolve(.name("cy"), in: voice)) {
            XCTAssertEqual($0 as? PiperError, .unknownSpeaker(name: "cy", known: ["ann", "bob"]))
        }
        XCTAssertThrowsError(try PiperSpeaker.resolve(.id(-1), in: voice)) {
            XCTAssertEqual($0 as? PiperError, .speakerOutOfRange(id: -1, speakers: 4))
        }
    }
}
