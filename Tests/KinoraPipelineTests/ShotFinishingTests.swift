import Foundation
import XCTest

@testable import KinoraPipeline

/// A shot's and the output's `upscale` and `interpolate`: how the workflow reads them (and refuses bad ones, naming
/// file, line and field), the stages they become (a shot's between a clip's decode and its conform, or a still's
/// decode and its camera move; the output's between the joined cut and the mux), their cache keys and their planned
/// memory.
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

    /// The base workflow with the whole cut upscaled twice (128² → 256²) and interpolated from 24 to 48 fps.
    static let finishedOutput = TestSupport.replacing("  fps: 24\n", with: """
          fps: 24
          upscale: {model: sharp, scale: 2}
          interpolate: {fps: 48}

        """, in: base)

    func testTheOutputsUpscaleAndInterpolationRunOnTheJoinedCutAfterEachShotsOwn() throws {
        let built = try graph(Self.finishedOutput)
        let ids = built.stages.map(\.id)
        let order = ["waves/upscale", "waves/interpolate", "waves/conform", "video/encode", "output/upscale",
                     "output/interpolate", "output/mux"]
        XCTAssertEqual(ids.filter(order.contains), order, "a shot's own finishing first, the cut's after the join")
        let upscale = try XCTUnwrap(built.stage("output/upscale"))
        XCTAssertEqual(upscale.kind, .upscale)
        XCTAssertEqual(upscale.inputs, ["video/encode"])
        XCTAssertEqual(upscale.owners, ["output"])
        XCTAssertEqual(built.model(of: upscale)?.identity.name, "sharp/upscaler")
        // The cut: 24 frames of the still and 24 of the clip's conform, at 128x128.
        XCTAssertEqual([upscale.parameters.int("width"), upscale.parameters.int("output_width"),
                        upscale.parameters.int("frames"), upscale.steps], [128, 256, 48, 48])
        XCTAssertEqual([upscale.parameters.string("input"), upscale.parameters.string("fps")], ["cut", "24"])
        let interpolate = try XCTUnwrap(built.stage("output/interpolate"))
        XCTAssertEqual(interpolate.inputs, ["output/upscale"])
        XCTAssertEqual(built.model(of: interpolate)?.identity.name, "rife/interpolator")
        XCTAssertEqual([interpolate.parameters.int("width"), interpolate.parameters.int("height")], [256, 256])
        XCTAssertEqual([interpolate.parameters.string("clip_fps"), interpolate.parameters.string("fps")], ["24", "48"])
        // 2 s at 48 fps, and the clip's first frame (24) is a cut RIFE never morphs across.
        XCTAssertEqual([interpolate.parameters.int("output_frames"), interpolate.steps], [96, 96])
        XCTAssertEqual(interpolate.parameters.string("cuts"), "24")
        let mux = try XCTUnwrap(built.stage("output/mux"))
        XCTAssertEqual(mux.inputs.first, "output/interpolate")
        XCTAssertEqual(mux.parameters.string("fps"), "48")

        // A crossfade shortens the cut by 6 frames and blends the shots, so RIFE may morph through it.
        let crossfaded = try graph(replacing("    motion: video\n",
                                             with: "    motion: video\n    transition: {crossfade: 0.25}\n",
                                             in: Self.finishedOutput))
        XCTAssertEqual(crossfaded.stage("output/interpolate")?.parameters.string("cuts"), "")
        XCTAssertEqual(crossfaded.stage("output/interpolate")?.parameters.int("output_frames"), 84)

        // Planned like a shot's: the upscaler's figure per pixel of its 256² measuring tile at least, RIFE's at
        // 512x256 at least, for the cut's frames.
        let plan = try Planner(device: DeviceProfile(budgetBytes: 2_000_000_000)).plan(built)
        let upscalePeak = try XCTUnwrap(plan.steps.first { $0.stages == ["output/upscale"] }?.peakBytes)
        XCTAssertGreaterThanOrEqual(upscalePeak, 1_247_296 + 1339 * 256 * 256)
        let rifePeak = try XCTUnwrap(plan.steps.first { $0.stages == ["output/interpolate"] }?.peakBytes)
        XCTAssertGreaterThanOrEqual(rifePeak, 24_557_300 + 536 * 512 * 256)
    }

    func testBadOutputUpscaleAndInterpolateSettingsAreRefusedNamingLineAndField() {
        let cases: [(String, String, String, Int, String)] = [
            ("\n  upscale: {model: sharp, scale: 2}", "\n  upscale: {model: sharp, scale: 5}",
             "output.upscale.scale", 4, "must be between 2 and 4"),
            ("\n  upscale: {model: sharp, scale: 2}", "\n  upscale: {model: sharp, scale: 2, tile: 64}",
             "output.upscale.tile", 4, "unknown key 'tile'"),
            ("\n  upscale: {model: sharp, scale: 2}", "\n  upscale: {model: sahrp, scale: 2}",
             "output.upscale.model", 4, "no model named 'sahrp' (did you mean 'sharp'?)"),
            ("\n  upscale: {model: sharp, scale: 2}", "\n  upscale: {model: rife, scale: 2}", "output.upscale.model", 4,
             "'rife' is a rife model, which makes interpolated frames; upscaling needs one that makes upscaled"),
            ("interpolate: {fps: 48}", "interpolate: {fps: 24}", "output.interpolate.fps", 5,
             "24 fps is not above the output's 24 fps (the rate the shots are joined at)"),
            ("interpolate: {fps: 48}", "interpolate: {fps: 500}", "output.interpolate.fps", 5,
             "must be between 1 and 240"),
            ("interpolate: {fps: 48}", "interpolate: {fps: 48, model: sharp}", "output.interpolate.model", 5,
             "'sharp' is a realesr-animevideov3 model, which makes upscaled images; interpolation needs one"),
            ("interpolate: {fps: 48}", "interpolate: {fps: 48, model: rief}", "output.interpolate.model", 5,
             "no model named 'rief' (did you mean 'rife'?)"),
        ]
        for (old, new, field, line, message) in cases {
            TestSupport.assertRefused(issues(replacing(old, with: new, in: Self.finishedOutput)), fields: [field],
                                      line: line, message: message, edit: new)
        }
        // 8192 doubled is still within 16384 pixels a side; tripled it is not.
        let large = replacing("size: 128x128", with: "size: 8192x128", in: Self.finishedOutput)
        TestSupport.assertRefused(issues(replacing("scale: 2}\n  interp", with: "scale: 3}\n  interp", in: large)),
                                  fields: ["output.upscale.scale"], line: 4,
                                  message: "8192x128 upscaled 3× is 24576x384, larger than 16384", edit: "scale 3")
        // Both refused at once: the upscaler of the wrong family and the interpolator.
        let both = replacing("\n  upscale: {model: sharp, scale: 2}", with: "\n  upscale: {model: rife, scale: 2}",
                             in: replacing("interpolate: {fps: 48}", with: "interpolate: {fps: 48, model: sharp}",
                                           in: Self.finishedOutput))
        XCTAssertEqual(issues(both).map(\.field), ["output.upscale.model", "output.interpolate.model"])
        // Without the per-shot interpolation the shot-level rife is the output's default interpolator; two of them
        // must be told apart.
        let two = replacing("  rife: {catalog: rife}\n", with: "  rife: {catalog: rife}\n  rife2: {catalog: rife}\n",
                            in: replacing("\n    interpolate: {fps: 24}", with: "", in: Self.finishedOutput))
        TestSupport.assertRefused(issues(two), fields: ["output.interpolate.model"], line: 5,
                                  message: "2 models of the rife family are declared; name one with 'model'",
                                  edit: "rife2")
    }

    func testTheOutputsStagesKeysChangeWithTheirSettingsAndNoShotRendersAgain() throws {
        func keys(_ text: String) throws -> [String: String] { StageKeys.compute(try graph(text)) }
        let plain = try keys(Self.base)
        let finished = try keys(Self.finishedOutput)
        for (id, key) in plain where id != "output/mux" {
            XCTAssertEqual(finished[id], key, "\(id): the output's finishing renders no shot again")
        }
        XCTAssertNotEqual(finished["output/mux"], plain["output/mux"])
        let scale = try keys(replacing("scale: 2}\n  interp", with: "scale: 3}\n  interp", in: Self.finishedOutput))
        XCTAssertEqual(Set(finished.keys.filter { finished[$0] != scale[$0] }),
                       ["output/upscale", "output/interpolate", "output/mux"])
        let rate = try keys(replacing("interpolate: {fps: 48}", with: "interpolate: {fps: 60}",
                                      in: Self.finishedOutput))
        XCTAssertEqual(Set(finished.keys.filter { finished[$0] != rate[$0] }), ["output/interpolate", "output/mux"])
    }
}
