import Foundation
import XCTest

@testable import KinoraPipeline

/// Generated music cues (`prompt` + `model` + `seconds`): how the workflow reads them and refuses bad ones (file, line
/// and field), the `generateMusic` stage they become (its cache key, the draft's steps, the checks against the
/// model), and the music model folder's detection.
final class GeneratedMusicCueTests: XCTestCase {
    /// A valid workflow with one generated cue; tests replace its lines.
    static let base = """
        output:
          size: 64x64
        models:
          hero: {catalog: tiny-sd15}
          sao: {catalog: tiny-stable-audio}
        shots:
          - id: one
            prompt: a harbour
            duration: 5
            final: {model: hero}
        music:
          - id: theme
            prompt: a calm pad
            model: sao
            seconds: 1.5
            start: 1
        """

    static let fixture = TestSupport.root.appendingPathComponent("Tests/Fixtures/stable-audio")

    private func parse(_ text: String) throws -> Workflow {
        try Workflow.parse(text, file: "w.yaml")
    }

    private func issues(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [SourceIssue] {
        do {
            _ = try parse(text)
            XCTFail("expected the workflow to be rejected", file: file, line: line)
        } catch let error as WorkflowError {
            return error.issues
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return []
    }

    private func replacing(_ old: String, with new: String, in text: String = base) -> String {
        TestSupport.replacing(old, with: new, in: text)
    }

    private func graph(
        _ text: String, mode: RenderMode = .final,
        musicFolder: @escaping StageGraphBuilder.MusicFolderReader = { _, _ in nil }
    ) throws
        -> StageGraph
    {
        var builder = try TestSupport.builder()
        builder.musicFolder = musicFolder
        return try builder.build(try parse(text), mode: mode)
    }

    func testAPromptCueReadsItsSettingsAndTheFamilysDefaults() throws {
        let text = replacing(
            "    seconds: 1.5\n",
            with: "    seconds: 1.5\n    negative: drums\n    steps: 40\n"
                + "    cfg: 3.5\n    seed: 9\n")
        let cue = try XCTUnwrap(parse(text).musicCues.first)
        XCTAssertNil(cue.file)
        let music = try XCTUnwrap(cue.generated)
        XCTAssertEqual(music.prompt, "a calm pad")
        XCTAssertEqual(music.negative, "drums")
        XCTAssertEqual(music.model, "sao")
        XCTAssertEqual(music.seconds, 1.5)
        XCTAssertEqual(music.steps, 40)
        XCTAssertEqual(music.cfg, 3.5)
        XCTAssertEqual(music.seed, 9)
        XCTAssertEqual(music.secondsLocation.line, 15)

        let plain = try XCTUnwrap(parse(Self.base).musicCues.first?.generated)
        XCTAssertEqual(plain.seed, Shot.defaultSeed(for: "theme"), "the seed comes from the id, as a shot's")
        XCTAssertNil(plain.steps)
        let stage = try XCTUnwrap(graph(Self.base).stage("theme/generate"))
        XCTAssertEqual(stage.kind, .generateMusic)
        XCTAssertEqual(stage.parameters.int("steps"), 4, "tiny-stable-audio's default steps")
        XCTAssertEqual(stage.parameters.number("cfg"), 7)
        XCTAssertEqual(stage.seed, plain.seed)
        XCTAssertTrue(try parse(Self.base).warnings.isEmpty, "the cue uses the model")
    }

    func testWithoutSecondsTheLengthIsTheCuesSpan() throws {
        let music = try XCTUnwrap(
            parse(replacing("    seconds: 1.5\n    start: 1", with: "    start: 1\n    end: 2.5"))
                .musicCues.first?.generated)
        XCTAssertEqual(music.seconds, 1.5)
        XCTAssertEqual(music.secondsField, "end")
        XCTAssertEqual(music.secondsLocation.line, 16)
    }

    func testBadGeneratedCuesAreRefusedNamingLineAndField() {
        let cases: [(String, String, [String], Int, String)] = [
            (
                "    prompt: a calm pad\n", "    prompt: a calm pad\n    file: pad.ogg\n", ["music[0]"], 12,
                "give either 'file' (an audio file) or 'prompt' (music a model generates), not both"
            ),
            ("    prompt: a calm pad\n", "", ["music[0]"], 12, "needs 'file' (an audio file) or 'prompt'"),
            ("    seconds: 1.5\n", "    seconds: 0\n", ["music[0].seconds"], 15, "must be more than 0 s, got 0 s"),
            ("    seconds: 1.5\n", "    seconds: -2\n", ["music[0].seconds"], 15, "must be more than 0 s"),
            ("    seconds: 1.5\n", "    seconds: 601\n", ["music[0].seconds"], 15, "must be at most 600 s"),
            ("    seconds: 1.5\n", "", ["music[0].seconds"], 12, "a generated cue needs 'seconds'"),
            (
                "    seconds: 1.5\n", "    seconds: 1.5\n    steps: 5000\n", ["music[0].steps"], 16,
                "must be between 1 and 1000, got 5000"
            ),
            ("    seconds: 1.5\n", "    seconds: 1.5\n    steps: 0\n", ["music[0].steps"], 16, "between 1 and 1000"),
            ("    seconds: 1.5\n", "    seconds: 1.5\n    cfg: 99\n", ["music[0].cfg"], 16, "between 0 and 30"),
            (
                "    seconds: 1.5\n", "    seconds: 1.5\n    promt: x\n", ["music[0].promt"], 16,
                "unknown key 'promt' (did you mean 'prompt'?)"
            ),
            ("    model: sao\n", "", ["music[0].model"], 12, "missing required field 'model'"),
            (
                "    model: sao\n", "    model: soa\n", ["music[0].model"], 14,
                "no model named 'soa' (did you mean 'sao'?)"
            ),
            (
                "    prompt: a calm pad\n    model: sao\n    seconds: 1.5\n", "    file: pad.ogg\n    steps: 8\n",
                ["music[0].steps"], 14, "'steps' is a setting of generated music (with 'prompt'), not of a file cue"
            ),
        ]
        for (old, new, fields, line, message) in cases {
            TestSupport.assertRefused(issues(replacing(old, with: new)), fields: fields, line: line, message: message,
                                      edit: new)
        }
    }

    func testTheStageKeyChangesWithEverySettingOfTheCueAndNothingElse() throws {
        let full = replacing(
            "    seconds: 1.5\n",
            with: "    seconds: 1.5\n    negative: drums\n    steps: 6\n"
                + "    cfg: 3\n    seed: 9\n")
        func key(_ text: String) throws -> String {
            try XCTUnwrap(StageKeys.compute(try graph(text))["theme/generate"])
        }
        let before = try key(full)
        let changes = [
            ("a calm pad", "a busy pad"), ("drums", "bells"), ("seconds: 1.5", "seconds: 1.75"),
            ("steps: 6", "steps: 7"), ("cfg: 3", "cfg: 4"), ("seed: 9", "seed: 10"),
        ]
        for (old, new) in changes {
            XCTAssertNotEqual(try key(replacing(old, with: new, in: full)), before, new)
        }
        // Another model: its files' fingerprint differs.
        let twoModels = replacing(
            "sao: {catalog: tiny-stable-audio}",
            with: "sao: {catalog: tiny-stable-audio}\n"
                + "  other: {catalog: tiny-stable-audio}", in: full)
        XCTAssertEqual(try key(twoModels), before)
        XCTAssertNotEqual(try key(replacing("model: sao", with: "model: other", in: twoModels)), before)
        // Where the cue sits in the mix does not change what is generated; the mix places it anew.
        let moved = replacing(
            "start: 1",
            with: "start: 2\n    end: 4.5\n    gain: -6 dB\n    fade_in: 0.5\n"
                + "    loop: true", in: full)
        XCTAssertEqual(try key(moved), before)
        XCTAssertNotEqual(
            StageKeys.compute(try graph(moved))["audio/mix"],
            StageKeys.compute(try graph(full))["audio/mix"])
    }

    func testTheDraftTakesAQuarterOfTheStepsAndAtLeastEight() throws {
        XCTAssertEqual([100, 40, 20, 8, 6, 1].map(GeneratedMusic.draftSteps), [25, 10, 8, 8, 6, 1])
        for (steps, draft) in [(100, 25), (20, 8), (6, 6)] {
            let text = replacing("    seconds: 1.5\n", with: "    seconds: 1.5\n    steps: \(steps)\n")
            let final = try XCTUnwrap(graph(text).stage("theme/generate"))
            let drafted = try XCTUnwrap(graph(text, mode: .draft).stage("theme/generate"))
            XCTAssertEqual([final.steps, drafted.steps], [steps, draft])
            XCTAssertEqual(drafted.parameters.int("steps"), draft)
            XCTAssertEqual(drafted.seed, final.seed, "a draft previews its final")
        }
    }

    func testModelsThatCannotMakeTheCueAreRefusedBeforeAnythingRuns() throws {
        let image = replacing("    model: sao\n", with: "    model: hero\n")
        XCTAssertThrowsError(try graph(image)) { error in
            guard case StageGraphError.invalid(let issues) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(issues.map(\.field), ["music[0].model"])
            XCTAssertEqual(issues.first?.location.line, 14)
            XCTAssertTrue(
                issues.first?.message.contains("'hero' is a tiny-sd15 model, which makes images, not music")
                    == true, "\(issues)")
        }
        let folder: StageGraphBuilder.MusicFolderReader = { _, _ in try MusicModelFolder.open(Self.fixture) }
        XCTAssertNoThrow(try graph(replacing("seconds: 1.5", with: "seconds: 2"), musicFolder: folder))
        let cases = [
            ("seconds: 1.5", "seconds: 3", "music[0].seconds", 15, "asks for 3 s"),
            (
                "    seconds: 1.5\n    start: 1", "    start: 1\n    end: 3.5", "music[0].end", 16,
                "asks for 2.5 s"
            ),
        ]
        for (old, new, field, line, asked) in cases {
            XCTAssertThrowsError(try graph(replacing(old, with: new), musicFolder: folder)) { error in
                guard case StageGraphError.invalid(let issues) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(issues.map(\.field), [field])
                XCTAssertEqual(issues.first?.location.line, line)
                XCTAssertTrue(
                    issues.first?.message.hasPrefix(
                        asked + " of music, but 'sao' (Stable Audio) makes at "
                            + "most 2.00 s in one generation") == true, "\(issues)")
            }
        }
    }

    func testTheMusicFolderIsToldByItsOwnFiles() throws {
        let folder = try MusicModelFolder.open(Self.fixture)
        XCTAssertEqual(folder.kind, .stableAudio)
        XCTAssertEqual(folder.maximumSeconds, 2, "8 latent frames of 4 samples at 16 Hz")
        XCTAssertEqual(folder.generatedSeconds(for: 0.5), 2, "Stable Audio makes its whole window")

        let scratch = try TestSupport.temporaryFolder(self)
        let musicGen = scratch.appendingPathComponent("musicgen")
        try FileManager.default.createDirectory(at: musicGen, withIntermediateDirectories: true)
        try Data(#"{"model_type": "musicgen"}"#.utf8).write(to: musicGen.appendingPathComponent("config.json"))
        XCTAssertEqual(try MusicModelKind.detect(musicGen), .musicGen)
        XCTAssertThrowsError(try MusicModelFolder.open(musicGen)) {
            XCTAssertTrue("\($0)".contains("config.json or model.safetensors cannot be used"), "\($0)")
        }
        let tiny = try MusicModelFolder.open(TestSupport.root.appendingPathComponent("Tests/Fixtures/musicgen"))
        XCTAssertEqual(tiny.kind, .musicGen)
        XCTAssertEqual(tiny.maximumSeconds, 600, "MusicGen continues its windows up to 600 s")
        XCTAssertEqual(tiny.generatedSeconds(for: 0.5), 0.5, "MusicGen makes what is asked")
        let image = TestSupport.root.appendingPathComponent("Tests/Fixtures/pipeline/sd")
        XCTAssertThrowsError(try MusicModelFolder.open(image)) {
            XCTAssertTrue("\($0)".contains("is a StableDiffusionPipeline folder, not a music model"), "\($0)")
        }
        let noT5 = scratch.appendingPathComponent("no-t5")
        try FileManager.default.copyItem(at: Self.fixture, to: noT5)
        try FileManager.default.removeItem(at: noT5.appendingPathComponent("text_encoder/model.safetensors"))
        XCTAssertThrowsError(try MusicModelFolder.open(noT5)) {
            XCTAssertTrue("\($0)".contains("text_encoder/ (the T5 text encoder) cannot be used"), "\($0)")
        }
    }

    /// A music model's problems found while preparing name the model's entry, before any stage runs.
    func testPreparingRefusesAFolderWithoutItsT5NamingTheModel() throws {
        let scratch = try TestSupport.temporaryFolder(self)
        try FileManager.default.copyItem(at: Self.fixture, to: scratch.appendingPathComponent("sao"))
        try FileManager.default.removeItem(at: scratch.appendingPathComponent("sao/text_encoder/model.safetensors"))
        let workflow = scratch.appendingPathComponent("w.yaml")
        try Data(
            replacing("sao: {catalog: tiny-stable-audio}", with: "sao: {path: sao, family: tiny-stable-audio}")
                .utf8
        ).write(to: workflow)
        XCTAssertThrowsError(
            try RenderPreparation.prepare(
                workflow: workflow, mode: .final, catalogFolder: TestSupport.catalogFolder,
                searchPaths: ModelSearchPaths(roots: [TestSupport.catalogFolder]),
                device: DeviceProfile(budgetBytes: 1 << 40))
        ) { error in
            guard case StageGraphError.invalid(let issues) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(issues.map(\.field), ["models.sao"])
            XCTAssertEqual(issues.first?.location.line, 5)
            XCTAssertTrue(issues.first?.message.contains("(the T5 text encoder) cannot be used") == true, "\(issues)")
        }
    }
}
