import Foundation
import KinoraMedia
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// The runner's voice stages with the installed Piper voice (skipped without it): `speak` synthesises the phoneme
/// ids `phonemize` stored, which for an untouched folder is exactly what the voice makes of the text itself.
final class ChainStageRunnerVoiceTests: XCTestCase {
    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    func testSpeakingStoredPhonemeIDsEqualsSpeakingTheTextAndFollowsTheStoredIDs() throws {
        let voice = try InstalledPiperVoice.url()
        let device = ValidatedTestDevice.shared
        let family = try XCTUnwrap(TestSupport.catalog().family(named: "piper-vits"))
        let identity = ModelIdentity(name: "narrator/voice", family: family.name, component: "voice",
                                     fingerprint: "test:narrator", precision: "f32")
        let model = try XCTUnwrap(CatalogStageModel(family: family, role: .voice, identity: identity))
        let runner = ChainStageRunner(device: device, workflow: try TestSupport.stillsWorkflow(),
                                      workflowFolder: TestSupport.root,
                                      locations: [identity.key: voice])
        try runner.load(model, streamed: false)
        let synthesizer = try XCTUnwrap(runner.voices[identity.key])

        let text = "Hello there. The boat is red."
        let folder = try TestSupport.temporaryFolder(self)
        let phonemesFolder = folder.appendingPathComponent("phonemize")
        let speechFolder = folder.appendingPathComponent("speak")
        for url in [phonemesFolder, speechFolder] {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        let phonemize = Stage(id: "hello/phonemize", kind: .phonemize,
                              parameters: StageParameters(["text": .string(text), "voice": .string(identity.key)]))
        let speak = Stage(id: "hello/speak", kind: .speak, model: identity.key,
                          parameters: StageParameters(["speaker": .string(""), "speed": .number(1)]),
                          inputs: [phonemize.id])
        let options = PiperSynthesisOptions(lengthScale: synthesizer.config.lengthScale)
        let spoken = { () throws -> [Float] in
            try runner.speak(speak, model: model, phonemes: phonemesFolder, into: speechFolder)
            return try AudioFile.read(speechFolder.appendingPathComponent("speech.wav")).samples
        }

        try runner.phonemize(phonemize, into: phonemesFolder)
        let fromText = try synthesizer.speak(text, options: options)
        XCTAssertEqual(fromText.sentenceCount, 2)
        XCTAssertEqual(try spoken(), fromText.samples)

        // Keep only the first stored sentence: speak follows the stored ids, not the text.
        let url = phonemesFolder.appendingPathComponent("phonemes.json")
        var stored = try JSONDecoder().decode(ChainStageRunner.Phonemes.self, from: Data(contentsOf: url))
        stored.sentences.removeLast()
        try JSONEncoder().encode(stored).write(to: url)
        let first = PiperEncodedText(sentences: stored.sentences.map { PiperSentence(phonemes: $0.phonemes,
                                                                                     ids: $0.ids) })
        let firstOnly = try synthesizer.speak(first, options: options).samples
        XCTAssertLessThan(firstOnly.count, fromText.samples.count)
        XCTAssertEqual(try spoken(), firstOnly)

    }
}
