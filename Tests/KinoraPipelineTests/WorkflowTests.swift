import KinoraMedia
import XCTest

@testable import KinoraPipeline

final class WorkflowTests: XCTestCase {
    /// A valid workflow; tests replace one line to break it.
    static let base = """
        output:
          size: 256x144
        models:
          hero: {catalog: tiny-sd15}
          narrator: {catalog: piper-vits}
        shots:
          - id: one
            prompt: a harbour
            duration: 2
            final: {model: hero}
          - id: two
            prompt: a market
            duration: 3
            final: {model: hero, steps: 4}
        voices:
          - text: hello there
            voice: narrator
            start: 0.5
        music:
          - file: pad.ogg
            start: 1
        """

    private func parse(_ text: String) throws -> Workflow {
        try Workflow.parse(text, file: "test.yaml")
    }

    /// The issues of an invalid workflow (fails the test when it parses).
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

    private func replacing(_ old: String, with new: String) -> String {
        XCTAssertTrue(Self.base.contains(old), "base has no '\(old)'")
        return Self.base.replacingOccurrences(of: old, with: new)
    }

    func testDemoWorkflowParsesWithItsDocumentedValues() throws {
        let workflow = try TestSupport.stillsWorkflow()
        XCTAssertEqual(workflow.output.size, ImageSize(width: 256, height: 144))
        XCTAssertEqual(workflow.output.codec, .h264)
        XCTAssertEqual(workflow.output.crf, 20)
        XCTAssertEqual(workflow.output.loudness, -16)
        XCTAssertEqual(workflow.models.map(\.name), ["workhorse", "hero", "narrator"])
        XCTAssertEqual(workflow.shots.count, 3)
        XCTAssertEqual(workflow.voiceLines.count, 2)
        XCTAssertEqual(workflow.musicCues.count, 1)
        XCTAssertEqual(workflow.duration, 9)
        XCTAssertEqual(workflow.shots[0].camera.zoom, CameraMove.ClosedInterval(1.0, 1.12))
        XCTAssertEqual(workflow.shots[2].camera, CameraMove.none)
        XCTAssertEqual(workflow.shots[1].size, ImageSize(width: 64, height: 64))
        XCTAssertEqual(workflow.shots[1].draft?.steps, 2)
        XCTAssertNil(workflow.shots[2].draft)
        XCTAssertEqual(workflow.musicCues[0].gain, -8)
        XCTAssertEqual(workflow.mix.ducking?.reductionDB, -10)
        XCTAssertEqual(workflow.warnings, [])
    }

    func testDefaultsFillWhatTheFileLeavesOut() throws {
        let workflow = try parse(Self.base)
        XCTAssertEqual(workflow.output.file, "test.mp4")
        XCTAssertEqual(workflow.output.fps, FrameRateSpec(numerator: 24, denominator: 1))
        XCTAssertEqual(workflow.output.codec, .h264)
        XCTAssertNil(workflow.output.crf)
        XCTAssertEqual(workflow.output.loudness, -14)
        XCTAssertEqual(workflow.output.truePeak, -1)
        XCTAssertEqual(workflow.shots[0].seed, Shot.defaultSeed(for: "one"))
        XCTAssertEqual(workflow.shots[0].negative, "")
        XCTAssertEqual(workflow.shots[0].camera, CameraMove())
        XCTAssertEqual(workflow.voiceLines[0].id, "line-1")
        XCTAssertEqual(workflow.musicCues[0].id, "cue-1")
        XCTAssertEqual(workflow.musicCues[0].fadeOut, 1)
        XCTAssertEqual(workflow.mix, MixSettings())
        XCTAssertEqual(workflow.shotStarts, [0, 2])
        XCTAssertEqual(workflow.model(named: "hero")?.source, .catalog("tiny-sd15"))
    }

    func testDefaultSeedDependsOnTheIdOnly() {
        XCTAssertEqual(Shot.defaultSeed(for: "harbour"), Shot.defaultSeed(for: "harbour"))
        XCTAssertNotEqual(Shot.defaultSeed(for: "harbour"), Shot.defaultSeed(for: "market"))
        XCTAssertLessThanOrEqual(Shot.defaultSeed(for: "harbour"), 0xffff_ffff)
    }

    func testUnknownKeyNamesLineFieldAndSuggestion() {
        let found = issues(replacing("    prompt: a harbour", with: "    promt: a harbour"))
        XCTAssertEqual(found.count, 2, "\(found)")
        let unknown = found.first { $0.field == "shots[0].promt" }
        XCTAssertEqual(unknown?.location, SourceLocation(file: "test.yaml", line: 8, column: 5))
        XCTAssertTrue(unknown?.message.contains("did you mean 'prompt'?") == true, unknown?.message ?? "")
        let missing = found.first { $0.field == "shots[0].prompt" }
        XCTAssertEqual(missing?.message, "missing required field 'prompt'")
        XCTAssertEqual(missing?.location.line, 7)
    }

    func testUndefinedModelReferenceSuggestsTheClosestName() {
        let found = issues(replacing("final: {model: hero, steps: 4}", with: "final: {model: heor, steps: 4}"))
        XCTAssertEqual(found.map(\.field), ["shots[1].final.model"])
        XCTAssertEqual(found.first?.location.line, 14)
        XCTAssertEqual(found.first?.location.column, 20)
        XCTAssertTrue(found.first?.message.contains("no model named 'heor' (did you mean 'hero'?)") == true)
    }

    func testSizesMustBeMultiplesOfEight() {
        let found = issues(replacing("size: 256x144", with: "size: 250x144"))
        XCTAssertEqual(found.map(\.field), ["output.size"])
        XCTAssertEqual(found.first?.location, SourceLocation(file: "test.yaml", line: 2, column: 9))
        XCTAssertEqual(found.first?.message, "width 250 is not a multiple of 8 (try 248 or 256)")
    }

    func testNegativeAndZeroDurationsAreRejected() {
        let found = issues(replacing("duration: 2", with: "duration: -1"))
        XCTAssertEqual(found.map(\.field), ["shots[0].duration"])
        XCTAssertTrue(found.first?.message.contains("got -1") == true)
        XCTAssertEqual(issues(replacing("duration: 2", with: "duration: 0")).map(\.field), ["shots[0].duration"])
    }

    func testEveryProblemIsReportedInFileOrder() {
        var text = replacing("size: 256x144", with: "size: 250x144")
        text = text.replacingOccurrences(of: "duration: 3", with: "duration: abc")
        text = text.replacingOccurrences(of: "start: 0.5", with: "start: soon")
        let found = issues(text)
        XCTAssertEqual(found.map(\.field), ["output.size", "shots[1].duration", "voices[0].start"])
        XCTAssertEqual(found.map(\.location.line), [2, 13, 18])
    }

    func testNumbersTheCommandLineAlsoTakesHaveItsRanges() throws {
        let accepted = try parse(replacing("size: 256x144", with: "size: 256x144\n  sample_rate: 384000\n  fps: 240")
            + "\nmix:\n  ducking: {attack: 8, release: 10}\n")
        XCTAssertEqual(accepted.output.sampleRate, ValueBounds.sampleRate.upperBound)
        XCTAssertEqual(accepted.mix.ducking?.attack, 8)
        let refused = issues(replacing("size: 256x144", with: "size: 256x144\n  sample_rate: 384001\n  fps: 241")
            + "\nmix:\n  ducking: {attack: 11}\n")
        XCTAssertEqual(refused.map(\.field), ["output.sample_rate", "output.fps", "mix.ducking.attack"])
        XCTAssertEqual(refused.first?.message, "must be between 8000 and 384000, got 384001")
    }

    func testTimesOutsideTheCutAreRejected() {
        let voice = issues(replacing("start: 0.5", with: "start: 5"))
        XCTAssertEqual(voice.map(\.field), ["voices[0].start"])
        XCTAssertTrue(voice.first?.message.contains("the end of the cut (5 s") == true, voice.first?.message ?? "")
        let music = issues(replacing("    start: 1", with: "    start: 1\n    end: 7"))
        XCTAssertEqual(music.map(\.field), ["music[0].end"])
        let backwards = issues(replacing("    start: 1", with: "    start: 1\n    end: 0.5"))
        XCTAssertEqual(backwards.map(\.field), ["music[0].end"])
    }

    func testOverlappingVoiceLinesAreErrorsOrWarnings() throws {
        let line = "    start: 0.5\nmusic:"
        let overlapping = replacing(line, with: "    start: 0.5\n    end: 2\n  - text: second line\n"
                                    + "    voice: narrator\n    start: 1.5\nmusic:")
        let found = issues(overlapping)
        XCTAssertEqual(found.map(\.field), ["voices[1].start"])
        XCTAssertTrue(found.first?.message.contains("before voices[0] ('line-1') ends at 2 s") == true)

        let estimated = replacing(line, with: "    start: 0.5\n  - text: second line\n    voice: narrator\n"
                                  + "    start: 1\nmusic:")
        let workflow = try parse(estimated)
        XCTAssertEqual(workflow.warnings.map(\.field), ["voices[1].start"])
    }

    func testCatalogAndPathAreExclusiveAndPathNeedsAFamily() {
        let both = issues(replacing("hero: {catalog: tiny-sd15}", with: "hero: {catalog: tiny-sd15, path: x}"))
        XCTAssertEqual(both.map(\.field), ["models.hero"])
        let noFamily = issues(replacing("hero: {catalog: tiny-sd15}", with: "hero: {path: model.safetensors}"))
        XCTAssertTrue(noFamily.first?.message.contains("needs a 'family'") == true)
    }

    func testCodecAndSamplerNamesAreCheckedWithSuggestions() {
        let codec = issues(replacing("size: 256x144", with: "size: 256x144\n  codec: h246"))
        XCTAssertTrue(codec.first?.message.contains("did you mean 'h264'?") == true, codec.first?.message ?? "")
        let sampler = issues(replacing("final: {model: hero, steps: 4}", with: "final: {model: hero, sampler: eulr}"))
        XCTAssertEqual(sampler.map(\.field), ["shots[1].final.sampler"])
        let crf = issues(replacing("size: 256x144", with: "size: 256x144\n  codec: prores\n  crf: 20"))
        XCTAssertEqual(crf.map(\.field), ["output.crf"])
    }

    func testPromptSyntaxDefaultsToPlainAndUnknownValuesNameLineAndField() throws {
        let workflow = try parse(replacing("prompt: a market", with: "prompt: a market\n    prompt_syntax: A1111"))
        XCTAssertEqual(workflow.shots.map(\.promptSyntax), [.plain, .a1111])
        let unknown = issues(replacing("prompt: a market", with: "prompt: a market\n    prompt_syntax: comfy"))
        XCTAssertEqual(unknown.map(\.field), ["shots[1].prompt_syntax"])
        XCTAssertEqual(unknown.first?.location.line, 13)
        XCTAssertTrue(unknown.first?.message.contains("expected one of plain, a1111") == true,
                      unknown.first?.message ?? "")
    }

    func testDuplicateIdsAndUnknownVersionAreRejected() {
        let duplicate = issues(replacing("  - id: two", with: "  - id: one"))
        XCTAssertEqual(duplicate.map(\.field), ["shots[1].id"])
        let version = issues("version: 2\n" + Self.base)
        XCTAssertEqual(version.map(\.field), ["version"])
    }

    func testMalformedYAMLReportsItsPosition() {
        XCTAssertThrowsError(try parse("output:\n  size: [256, 144\nmodels: {}")) { error in
            guard case WorkflowError.syntax(let location, _) = error else {
                return XCTFail("expected a syntax error, got \(error)")
            }
            XCTAssertEqual(location.file, "test.yaml")
            XCTAssertGreaterThanOrEqual(location.line, 2)
        }
        XCTAssertThrowsError(try parse("output: {size: 64x64}\noutput: {size: 64x64}")) { error in
            XCTAssertTrue("\(error)".contains("duplicate key 'output'"), "\(error)")
        }
    }

    func testEmptyAndMissingFilesAreClearErrors() {
        XCTAssertThrowsError(try parse("")) { error in
            XCTAssertEqual("\(error)", "test.yaml:1:1: (document): the file is empty")
        }
        XCTAssertThrowsError(try Workflow.load(contentsOf: URL(fileURLWithPath: "/nonexistent/w.yaml"))) { error in
            guard case WorkflowError.unreadable(let file, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "/nonexistent/w.yaml")
        }
    }

    func testErrorDescriptionStartsWithFileLineAndColumn() {
        let found = issues(replacing("duration: 2", with: "duration: -1"))
        XCTAssertEqual(found.first?.description.hasPrefix("test.yaml:9:15: shots[0].duration: "), true,
                       found.first?.description ?? "")
    }

    func testAFIFOInPlaceOfTheWorkflowIsRefusedAsNotARegularFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kinora-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("cut.yaml")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertThrowsError(try Workflow.load(contentsOf: fifo)) { error in
            XCTAssertTrue(String(describing: error).contains("is a FIFO (named pipe), not a regular file"), "\(error)")
        }
    }
}
