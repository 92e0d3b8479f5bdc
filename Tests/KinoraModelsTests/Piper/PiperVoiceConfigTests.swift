import Foundation
import KinoraModels
import XCTest

final class PiperVoiceConfigTests: XCTestCase {
    func testPiperConfigReadsTheJoeVoiceFieldsAndDefaults() throws {
        let config = try PiperFixture.config()
        XCTAssertEqual(config.sampleRate, 22050)
        XCTAssertEqual(config.espeakVoice, "en-us")
        XCTAssertEqual(config.phonemeType, .espeak)
        XCTAssertEqual(config.numSymbols, 256)
        XCTAssertEqual(config.numSpeakers, 1)
        XCTAssertEqual(config.speakerIDMap, [:])
        XCTAssertEqual(config.phonemeIDMap.count, 151)
        XCTAssertEqual(config.phonemeIDMap["_"], [0])
        XCTAssertEqual(config.phonemeIDMap["^"], [1])
        XCTAssertEqual(config.phonemeIDMap["$"], [2])
        XCTAssertEqual(config.phonemeIDMap["ə"], [59])
        XCTAssertEqual(config.phonemeIDMap["\u{0303}"], [141], "combining tilde is a phoneme of its own")
        XCTAssertEqual(config.noiseScale, 0.667)
        XCTAssertEqual(config.lengthScale, 1)
        XCTAssertEqual(config.noiseW, 0.8)
        XCTAssertEqual(config.hopLength, 256, "absent from the file: Piper's default")
        XCTAssertEqual(config.defaultSpeakerID, 0)
        XCTAssertEqual(config.vowelClusters, [])
        XCTAssertEqual(config.piperVersion, "1.0.0")
    }

    func testPiperConfigWithoutInferenceTakesPiperDefaults() throws {
        let config = try PiperVoiceConfig.parse(Self.minimal(), file: "v.onnx.json")
        XCTAssertEqual(config.noiseScale, 0.667)
        XCTAssertEqual(config.lengthScale, 1)
        XCTAssertEqual(config.noiseW, 0.8)
        XCTAssertEqual(config.phonemeType, .espeak)
    }

    func testPiperConfigErrorsNameTheFileAndField() throws {
        func error(_ edit: (inout [String: Any]) -> Void) -> PiperError? {
            var object = Self.minimalObject()
            edit(&object)
            do {
                _ = try PiperVoiceConfig.parse(try JSONSerialization.data(withJSONObject: object), file: "v.onnx.json")
                return nil
            } catch {
                return error as? PiperError
            }
        }
        XCTAssertEqual(error { $0["audio"] = [:] as [String: Any] },
                       .invalidConfig(file: "v.onnx.json", field: "audio.sample_rate", reason: "missing"))
        XCTAssertEqual(error { $0["audio"] = ["sample_rate": "fast"] },
                       .invalidConfig(file: "v.onnx.json", field: "audio.sample_rate", reason: "must be an integer"))
        XCTAssertEqual(error { $0["espeak"] = nil },
                       .invalidConfig(file: "v.onnx.json", field: "espeak", reason: "missing"))
        XCTAssertEqual(error { $0["num_symbols"] = 3 },
                       .invalidConfig(file: "v.onnx.json", field: "phoneme_id_map",
                                      reason: "phoneme 'a' has id 3, outside 0..<3 (num_symbols)"))
        XCTAssertEqual(error { $0["phoneme_id_map"] = ["_": [0], "^": [1], "a": [3]] },
                       .invalidConfig(file: "v.onnx.json", field: "phoneme_id_map",
                                      reason: "has no ids for the phoneme '$' that every sentence uses"))
        XCTAssertEqual(error { $0["inference"] = ["noise_w": true] },
                       .invalidConfig(file: "v.onnx.json", field: "inference.noise_w", reason: "must be a number"))
        XCTAssertEqual(error { $0["speaker_id_map"] = ["ann": 1] },
                       .invalidConfig(file: "v.onnx.json", field: "speaker_id_map",
                                      reason: "speaker 'ann' has id 1, outside 0..<1 (num_speakers)"))
        XCTAssertEqual(error { $0["audio"] = ["sample_rate": 1e12] },
                       .invalidConfig(file: "v.onnx.json", field: "audio.sample_rate",
                                      reason: "must be within 8000...384000, got 1000000000000"))
        XCTAssertEqual(error { $0["hop_length"] = 1e15 },
                       .invalidConfig(file: "v.onnx.json", field: "hop_length",
                                      reason: "must be within 1...65536, got 1000000000000000"))
        XCTAssertEqual(error { $0["inference"] = ["length_scale": 1e30] },
                       .invalidConfig(file: "v.onnx.json", field: "inference.length_scale",
                                      reason: "must be within 0.05...20.0, got 1e+30"))
        XCTAssertEqual(error { $0["phoneme_type"] = "pinyin" },
                       .unsupportedPhonemeType(file: "v.onnx.json", phonemeType: "pinyin"))
        let message = String(describing: try XCTUnwrap(error { $0["audio"] = [:] as [String: Any] }))
        XCTAssertTrue(message.contains("v.onnx.json") && message.contains("audio.sample_rate"), message)
    }

    func testPiperConfigThatIsNotJSONIsReportedWithItsPath() throws {
        XCTAssertThrowsError(try PiperVoiceConfig.parse(Data("ONNX\u{0}".utf8), file: "/v/x.onnx.json")) { error in
            guard case .unreadableConfig(let file, _) = error as? PiperError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(file, "/v/x.onnx.json")
        }
    }

    func testPiperVoiceFilesFindTheConfigNextToTheModel() throws {
        let folder = try makeTemporaryFolder(self)
        let model = folder.appending(path: "v.onnx")
        try Data([1]).write(to: model)
        XCTAssertThrowsError(try PiperVoiceFiles(path: model)) { error in
            XCTAssertEqual(error as? PiperError, .missingConfig(model: model.path, config: "v.onnx.json"))
        }
        try Self.minimal().write(to: folder.appending(path: "v.onnx.json"))
        let files = try PiperVoiceFiles(path: model)
        XCTAssertEqual(files.config.lastPathComponent, "v.onnx.json")
        XCTAssertEqual(try PiperVoiceFiles(path: folder.appending(path: "v.onnx.json")), files)
        XCTAssertEqual(try files.loadConfig().sampleRate, 16000)
        XCTAssertThrowsError(try PiperVoiceFiles(path: folder.appending(path: "v.safetensors"))) { error in
            XCTAssertEqual(error as? PiperError, .notAnONNXVoice(path: folder.appending(path: "v.safetensors").path))
        }
        XCTAssertThrowsError(try PiperVoiceFiles(path: folder.appending(path: "w.onnx"))) { error in
            XCTAssertEqual(error as? PiperError, .missingModel(path: folder.appending(path: "w.onnx").path))
        }
    }

    func testDefaultPiperVoiceFollowsTheEnvironmentAndSaysHowToInstall() throws {
        XCTAssertEqual(DefaultPiperVoice.modelPath(environment: [:]), DefaultPiperVoice.installedModel)
        XCTAssertEqual(DefaultPiperVoice.modelPath(environment: ["KINORA_PIPER_VOICE": "/x/y.onnx"]).path, "/x/y.onnx")
        XCTAssertThrowsError(try DefaultPiperVoice.locate(environment: ["KINORA_PIPER_VOICE": "/nonexistent/v.onnx"])) {
            let message = String(describing: $0)
            XCTAssertTrue(message.contains("/nonexistent/v.onnx") && message.contains("bash scripts/setup.sh"), message)
        }
    }

    private static func minimalObject() -> [String: Any] {
        ["audio": ["sample_rate": 16000], "espeak": ["voice": "en-us"], "num_symbols": 8, "num_speakers": 1,
         "phoneme_id_map": ["_": [0], "^": [1], "$": [2], "a": [3]]]
    }

    private static func minimal() throws -> Data {
        try JSONSerialization.data(withJSONObject: minimalObject())
    }
}
