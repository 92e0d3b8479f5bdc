import XCTest

@testable import KinoraPipeline

/// `transition` on shots and `output.subtitles`: how they read, what they refuse (naming file, line and field), how a
/// crossfade shortens the cut, and which stage keys an edit of either changes.
final class ShotTransitionTests: XCTestCase {
    /// Three shots of 2, 3 and 2 s at 24 fps (48, 72 and 48 frames); `TWO` and `THREE` are replaced by the second and
    /// third shots' transition lines.
    private static let base = """
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
            TWO
            final: {model: hero}
          - id: three
            prompt: a lighthouse
            duration: 2
            THREE
            final: {model: hero}
        voices:
          - text: hello there
            voice: narrator
            start: 0.5
        """

    private func text(_ two: String = "", _ three: String = "") -> String {
        Self.base.replacingOccurrences(of: "TWO", with: two).replacingOccurrences(of: "THREE", with: three)
    }

    private func issues(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [SourceIssue] {
        do {
            _ = try Workflow.parse(text, file: "cut.yaml")
            XCTFail("expected the workflow to be rejected", file: file, line: line)
        } catch let error as WorkflowError {
            return error.issues
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return []
    }

    private func assertIssue(_ text: String, line: Int, field: String, saying message: String,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        let found = issues(text, file: file, line: testLine)
        XCTAssertEqual(found.count, 1, "\(found)", file: file, line: testLine)
        XCTAssertEqual(found.first?.location.line, line, "\(found)", file: file, line: testLine)
        XCTAssertEqual(found.first?.field, field, file: file, line: testLine)
        XCTAssertTrue(found.first?.message.contains(message) == true, "\(found)", file: file, line: testLine)
        XCTAssertTrue(found.first?.description.hasPrefix("cut.yaml:\(line):") == true, "\(found)", file: file,
                      line: testLine)
    }

    func testTransitionsReadAsCutCrossfadeAndFadeAndACrossfadeShortensTheCut() throws {
        let workflow = try Workflow.parse(text("transition: {crossfade: 0.5}", "transition: {fade: 0.25s}"),
                                           file: "cut.yaml")
        XCTAssertEqual(workflow.shots.map(\.transition), [.cut, .crossfade(seconds: 0.5), .fade(seconds: 0.25)])
        XCTAssertEqual(workflow.shots[1].transitionLocation.line, 14)
        XCTAssertEqual(workflow.duration, 6.5, accuracy: 1e-9, "2 + 3 + 2 less the 0.5 s overlap")
        XCTAssertEqual(workflow.shotStarts, [0, 1.5, 4.5])
        XCTAssertEqual(workflow.frameCount, 48 + 72 + 48 - 12)
        let cut = try Workflow.parse(text("transition: cut"), file: "cut.yaml")
        XCTAssertEqual(cut.shots[1].transition, .cut)
        XCTAssertEqual(cut.duration, 7)

        // A fade of 6 frames takes 3 of each shot; one of 5 takes 2 of the outgoing and 3 of the incoming.
        XCTAssertEqual(ShotTransition.fade(seconds: 0.25).outgoingFrames(at: 24), 3)
        XCTAssertEqual(ShotTransition.fade(seconds: 0.2).outgoingFrames(at: 25), 2)
        XCTAssertEqual(ShotTransition.fade(seconds: 0.2).incomingFrames(at: 25), 3)
        XCTAssertEqual(ShotTransition.crossfade(seconds: 0.01).frames(at: 24), 1, "at least one frame")
    }

    func testBadTransitionsAreRefusedNamingFileLineAndField() {
        assertIssue(text("transition: dissolve"), line: 14, field: "shots[1].transition",
                    saying: "unknown value 'dissolve'")
        assertIssue(text("transition: crossfade"), line: 14, field: "shots[1].transition",
                    saying: "crossfade needs its length: write {crossfade: SECONDS}")
        assertIssue(text("transition: {crossfade: 0}"), line: 14, field: "shots[1].transition.crossfade",
                    saying: "must be more than 0 s")
        assertIssue(text("transition: {crossfade: -1}"), line: 14, field: "shots[1].transition.crossfade",
                    saying: "must be between 0 s and 600 s")
        assertIssue(text("transition: {wipe: 0.5}"), line: 14, field: "shots[1].transition.wipe",
                    saying: "unknown key 'wipe'")
        assertIssue(text("transition: {crossfade: 0.5, fade: 0.5}"), line: 14, field: "shots[1].transition",
                    saying: "give exactly one of crossfade and fade")
        assertIssue(text("transition: {crossfade: 2.5}"), line: 14, field: "shots[1].transition",
                    saying: "a crossfade of 2.5 s (60 frames) needs the last 60 frames of 'one' (shots[0]), "
                        + "which has 48 frames")
        assertIssue(text("", "transition: {crossfade: 2.5}"), line: 19, field: "shots[2].transition",
                    saying: "a crossfade of 2.5 s (60 frames) needs 60 frames of 'three', which has 48 frames (2 s)")
        // The middle shot's 72 frames cannot give 48 to the crossfade in and 30 to the fade out.
        assertIssue(text("transition: {crossfade: 2}", "transition: {fade: 2.5}"), line: 19,
                    field: "shots[2].transition",
                    saying: "needs the last 30 frames of 'two' (shots[1]), which has 24 frames, after the 48 frames "
                        + "its own transition takes")
        let first = text().replacingOccurrences(of: "  - id: one\n",
                                                with: "  - id: one\n    transition: {fade: 1}\n")
        assertIssue(first, line: 8, field: "shots[0].transition",
                    saying: "the first shot has no shot before it to fade from")
    }

    func testSoftAndBurnedSubtitlesReadAndOthersAreRefused() throws {
        let soft = text().replacingOccurrences(of: "  size: 256x144\n", with: "  size: 256x144\n  subtitles: soft\n")
        XCTAssertEqual(try Workflow.parse(soft, file: "cut.yaml").output.subtitles, .soft)
        XCTAssertEqual(try Workflow.parse(text(), file: "cut.yaml").output.subtitles, .off, "off by default")
        let burned = soft.replacingOccurrences(of: "soft", with: "burned")
        XCTAssertEqual(try Workflow.parse(burned, file: "cut.yaml").output.subtitles, .burned)
        assertIssue(soft.replacingOccurrences(of: "soft", with: "hard"), line: 3, field: "output.subtitles",
                    saying: "unknown value 'hard'")
        for text in [soft, burned] {
            let silent = try Workflow.parse(text.components(separatedBy: "voices:")[0]
                .replacingOccurrences(of: "  narrator: {catalog: piper-vits}\n", with: ""), file: "cut.yaml")
            XCTAssertTrue(silent.warnings.contains { $0.field == "output.subtitles" }, "\(silent.warnings)")
        }
    }

    private func keys(_ text: String) throws -> [String: String] {
        StageKeys.compute(try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final))
    }

    private func changed(_ before: [String: String], _ after: [String: String]) -> Set<String> {
        XCTAssertEqual(Set(before.keys), Set(after.keys))
        return Set(before.keys.filter { before[$0] != after[$0] })
    }

    func testATransitionEditReEncodesAndASubtitleEditReMuxesRenderingNoShotAgain() throws {
        let demo = try String(contentsOf: TestSupport.stills, encoding: .utf8)
        let before = try keys(demo)
        let faded = try keys(demo.replacingOccurrences(of: "    seed: 5678\n",
                                                       with: "    seed: 5678\n    transition: {fade: 0.5}\n"))
        XCTAssertEqual(changed(before, faded), ["video/encode", "output/mux"], "a fade keeps the cut's length")
        let crossfaded = try keys(demo.replacingOccurrences(of: "    seed: 5678\n",
                                                            with: "    seed: 5678\n    transition: {crossfade: 0.2}\n"))
        XCTAssertEqual(changed(before, crossfaded), ["video/encode", "audio/mix", "output/mux"],
                       "a crossfade shortens the cut, so the mix is cut shorter too")
        XCTAssertNotEqual(faded["video/encode"], crossfaded["video/encode"])

        let subtitled = demo.replacingOccurrences(of: "  crf: 20\n", with: "  crf: 20\n  subtitles: soft\n")
        let soft = try keys(subtitled)
        XCTAssertEqual(changed(before, soft), ["output/mux"])
        let graph = try TestSupport.builder().build(try Workflow.parse(subtitled, file: "w.yaml"), mode: .final)
        let mux = try XCTUnwrap(graph.stages.first { $0.id == "output/mux" })
        XCTAssertEqual(mux.inputs, ["video/encode", "audio/mix", "welcome/speak", "closing/speak"])
        let moved = try keys(subtitled.replacingOccurrences(of: "start: 6.2", with: "start: 6.3"))
        XCTAssertEqual(changed(soft, moved), ["audio/mix", "output/mux"], "a cue's start is in the mux's key")
        // Burning them in instead muxes again and renders nothing else again; the mux reads the same speech.
        let burnedText = subtitled.replacingOccurrences(of: "subtitles: soft", with: "subtitles: burned")
        XCTAssertEqual(changed(soft, try keys(burnedText)), ["output/mux"])
        let burnedGraph = try TestSupport.builder().build(try Workflow.parse(burnedText, file: "w.yaml"), mode: .final)
        XCTAssertEqual(burnedGraph.stages.first { $0.id == "output/mux" }?.inputs, mux.inputs)
    }
}
