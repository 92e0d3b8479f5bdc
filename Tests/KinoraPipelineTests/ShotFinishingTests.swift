import Foundation
import XCTest

@testable import KinoraPipeline

/// A shot's `upscale` and `interpolate`: how the workflow reads them (and refuses bad ones, naming file, line and
/// field), the stages they become between a clip's decode and its conform (or a still's decode and its camera move),
/// their cache keys and their planned memory.
final class ShotFinishingTests: XCTestCase {
    /// A still with an upscaled picture and a video shot upscaled and interpolated from 16 to 24 fps.
    static let base = """
        output:
          size: 128x128
          fps: 24
        models:
          hero: {catalog: tiny-sd15}
          clip: {catalog: tiny-wan21}
          sharp: {catalog: realesr-animevideov3}
          rife: {catalog: rife}
        shots:
          - id: still
            prompt: a harbour
            duration: 1
            final: {model: hero, steps: 1, size: 64x64}
            upscale: {model: sharp, scale: 4}
          - id: waves
            prompt: waves on a beach
            duration: 1
            motion: video
            final: {model: clip, steps: 2, size: 64x64, frames: 9}
            upscale: {model: sharp, scale: 2}
            interpolate: {fps: 24}
        """

    private func replacing(_ old: String, with new: String, in text: String = base) -> String {
        TestSupport.replacing(old, with: new, in: text)
    }

    private func graph(_ text: String) throws -> StageGraph {
        try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)
    }

    private func issues(_ text: String) -> [SourceIssue] {
        do {
            _ = try graph(text)
        } catch let error as WorkflowError {
            return error.issues
        } catch StageGraphError.invalid(let issues) {
            return issues
        } catch {
            XCTFail("unexpected error \(error)")
        }
        return []
    }

    func testAnUpscaledAndInterpolatedClipRunsBetweenDecodeAndConformAndAStillIsUpscaledBeforeItsMove() throws {
        let built = try graph(Self.base)
        XCTAssertEqual(built.stages.map(\.id).filter { $0.hasPrefix("waves/") }, [
            "waves/encode-text", "waves/denoise", "waves/decode", "waves/upscale", "waves/interpolate",
            "waves/conform",
        ])
        let upscale = try XCTUnwrap(built.stage("waves/upscale"))
        XCTAssertEqual(upscale.kind, .upscale)
        XCTAssertEqual(upscale.inputs, ["waves/decode"])
        XCTAssertEqual(built.model(of: upscale)?.identity.name, "sharp/upscaler")
        XCTAssertEqual([upscale.parameters.int("width"), upscale.parameters.int("output_width"),
                        upscale.parameters.int("frames")], [64, 128, 9])
        let interpolate = try XCTUnwrap(built.stage("waves/interpolate"))
        XCTAssertEqual(interpolate.inputs, ["waves/upscale"])
        XCTAssertEqual(built.model(of: interpolate)?.identity.name, "rife/interpolator", "the one rife model")
        XCTAssertEqual([interpolate.parameters.int("width"), interpolate.parameters.int("height")], [128, 128])
        // 9 frames at 16 fps end at 0.5 s: 13 frames at 24 fps (0 … 12/24).
        XCTAssertEqual(interpolate.steps, 13)
        XCTAssertEqual([interpolate.parameters.string("clip_fps"), interpolate.parameters.string("fps")], ["16", "24"])
        let conform = try XCTUnwrap(built.stage("waves/conform"))
        XCTAssertEqual(conform.inputs, ["waves/interpolate"])
        XCTAssertEqual(conform.parameters.number("clip_fps"), 24)

        XCTAssertEqual(built.stage("still/upscale")?.inputs, ["still/decode"])
        XCTAssertEqual(built.stage("still/upscale")?.parameters.string("input"), "picture")
        XCTAssertEqual(built.stage("still/animate")?.inputs, ["still/upscale"])

        // Planned from the catalog's per-pixel figures, frames smaller than those they were measured at counted at
        // that size: a 256² tile, RIFE's 512x256 padded frame.
        let plan = try Planner(device: DeviceProfile(budgetBytes: 2_000_000_000)).plan(built)
        let upscalePeak = try XCTUnwrap(plan.steps.first { $0.stages == ["waves/upscale"] }?.peakBytes)
        XCTAssertGreaterThanOrEqual(upscalePeak, 1_247_296 + 1339 * 256 * 256)
        let rifePeak = try XCTUnwrap(plan.steps.first { $0.stages == ["waves/interpolate"] }?.peakBytes)
        XCTAssertGreaterThanOrEqual(rifePeak, 24_557_300 + 536 * 512 * 256)
    }

    func testBadUpscaleAndInterpolateSettingsAreRefusedNamingLineAndField() {
        let cases: [(String, String, String, Int, String)] = [
            ("upscale: {model: sharp, scale: 4}", "upscale: {model: sharp, scale: 8}", "shots[0].upscale.scale", 14,
             "must be between 2 and 4"),
            ("upscale: {model: sharp, scale: 4}", "upscale: {model: sharp, scale: 2, tile: 64}",
             "shots[0].upscale.tile", 14, "unknown key 'tile'"),
            ("upscale: {model: sharp, scale: 4}", "upscale: {scale: 2}", "shots[0].upscale.model", 14,
             "required"),
            ("upscale: {model: sharp, scale: 4}", "upscale: {model: sahrp, scale: 2}", "shots[0].upscale.model", 14,
             "no model named 'sahrp' (did you mean 'sharp'?)"),
            ("upscale: {model: sharp, scale: 4}", "upscale: {model: sharp, scale: 2}\n    interpolate: {fps: 24}",
             "shots[0].interpolate", 15, "a still's frames come from its camera move"),
            ("interpolate: {fps: 24}", "interpolate: {fps: 0}", "shots[1].interpolate.fps", 21,
             "must be between 1 and 240"),
            ("interpolate: {fps: 24}", "interpolate: {fps: 1000}", "shots[1].interpolate.fps", 21,
             "must be between 1 and 240"),
            ("interpolate: {fps: 24}", "interpolate: {fps: 24, scene: 0.3}", "shots[1].interpolate.scene", 21,
             "unknown key 'scene'"),
            ("interpolate: {fps: 24}", "interpolate: {model: rife}", "shots[1].interpolate.fps", 21, "required"),
        ]
        for (old, new, field, line, message) in cases {
            TestSupport.assertRefused(issues(replacing(old, with: new)), fields: [field], line: line, message: message,
                                      edit: new)
        }
    }

    func testModelsOfTheWrongFamilyAndRatesThatAddNothingAreRefused() {
        let cases: [(String, String, String, Int, String)] = [
            ("upscale: {model: sharp, scale: 4}", "upscale: {model: rife, scale: 2}", "shots[0].upscale.model", 14,
             "'rife' is a rife model, which makes interpolated frames; upscaling needs one that makes upscaled"),
            ("interpolate: {fps: 24}", "interpolate: {fps: 24, model: sharp}", "shots[1].interpolate.model", 21,
             "'sharp' is a realesr-animevideov3 model, which makes upscaled images; interpolation needs one"),
            ("interpolate: {fps: 24}", "interpolate: {fps: 12}", "shots[1].interpolate.fps", 21,
             "12 fps is below the clip's 16 fps"),
            ("interpolate: {fps: 24}", "interpolate: {fps: 30}", "shots[1].interpolate.fps", 21,
             "30 fps is above the output's 24 fps"),
            ("  rife: {catalog: rife}\n", "", "shots[1].interpolate.model", 21,
             "no interpolator: name one with 'model', or declare one such as 'rife: {catalog: rife}'"),
        ]
        for (old, new, field, line, message) in cases {
            let found = issues(replacing(old, with: new))
            XCTAssertEqual(found.map(\.field), [field], new)
            XCTAssertEqual(found.first?.location.line, line - (new.isEmpty ? 1 : 0), new)
            XCTAssertTrue(found.first?.message.contains(message) == true, "\(found.first?.description ?? "none")")
        }
    }

    func testInterpolatingToTheClipsOwnRateAddsNoStage() throws {
        let built = try graph(replacing("interpolate: {fps: 24}", with: "interpolate: {fps: 16}"))
        XCTAssertNil(built.stage("waves/interpolate"))
        XCTAssertEqual(built.stage("waves/conform")?.inputs, ["waves/upscale"], "the upscaled clip, as it plays")
        XCTAssertEqual(built.stage("waves/conform")?.parameters.number("clip_fps"), 16)
    }

    func testTheKeysOfUpscaleAndInterpolateChangeWithWhatChangesThem() throws {
        func keys(_ text: String) throws -> [String: String] { StageKeys.compute(try graph(text)) }
        let before = try keys(Self.base)
        // The video shot's scale: its upscale and what follows change; its clip and the still do not.
        let scale = try keys(replacing("scale: 2}\n    interpolate", with: "scale: 3}\n    interpolate"))
        XCTAssertEqual(scale["waves/decode"], before["waves/decode"])
        for id in ["waves/upscale", "waves/interpolate", "waves/conform"] {
            XCTAssertNotEqual(scale[id], before[id], id)
        }
        XCTAssertEqual(scale["still/upscale"], before["still/upscale"])
        XCTAssertEqual(scale["still/animate"], before["still/animate"])
        // The target rate changes the interpolation and the conform only.
        let rate = try keys(replacing("fps: 24}", with: "fps: 20}"))
        XCTAssertEqual(rate["waves/upscale"], before["waves/upscale"])
        XCTAssertNotEqual(rate["waves/interpolate"], before["waves/interpolate"])
        XCTAssertNotEqual(rate["waves/conform"], before["waves/conform"])
        // The still's upscale changes with its scale and its model; the picture stays.
        let still = try keys(replacing("scale: 4}", with: "scale: 3}"))
        XCTAssertEqual(still["still/decode"], before["still/decode"])
        XCTAssertNotEqual(still["still/upscale"], before["still/upscale"])
        XCTAssertNotEqual(still["still/animate"], before["still/animate"])
        XCTAssertEqual(still["waves/upscale"], before["waves/upscale"])
    }
}
