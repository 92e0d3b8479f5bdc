import XCTest

@testable import KinoraPipeline

final class StageGraphBuilderTests: XCTestCase {
    func testDemoExpandsIntoTheChainOfStages() throws {
        let graph = try TestSupport.builder().build(try TestSupport.stillsWorkflow(), mode: .final)
        XCTAssertEqual(graph.stages.map(\.id), [
            "harbour/encode-text", "harbour/denoise", "harbour/decode", "harbour/animate",
            "market/encode-text", "market/denoise", "market/decode", "market/animate",
            "lighthouse/encode-text", "lighthouse/denoise", "lighthouse/decode", "lighthouse/animate",
            "video/encode", "welcome/phonemize", "welcome/speak", "closing/phonemize", "closing/speak", "pad/load",
            "audio/mix", "output/mux",
        ])
        let denoise = try XCTUnwrap(graph.stage("harbour/denoise"))
        XCTAssertEqual(denoise.inputs, ["harbour/encode-text"])
        XCTAssertEqual(denoise.seed, 1234)
        XCTAssertEqual(denoise.steps, 4)
        XCTAssertEqual(denoise.parameters.int("width"), 64, "the shot's size")
        XCTAssertEqual(graph.model(of: denoise)?.identity.name, "hero/denoiser")
        XCTAssertEqual(graph.stage("harbour/animate")?.steps, 72)
        XCTAssertEqual(graph.stage("output/mux")?.inputs, ["video/encode", "audio/mix"])
        XCTAssertEqual(graph.stage("audio/mix")?.inputs, ["welcome/speak", "closing/speak", "pad/load"])
        // Every stage comes after its inputs.
        var seen: Set<String> = []
        for stage in graph.stages {
            XCTAssertTrue(stage.inputs.allSatisfy(seen.contains), stage.id)
            seen.insert(stage.id)
        }
    }

    func testDraftUsesTheWorkhorseSettingsWithTheSameSeeds() throws {
        let workflow = try TestSupport.stillsWorkflow()
        let builder = try TestSupport.builder()
        let draft = try builder.build(workflow, mode: .draft)
        let final = try builder.build(workflow, mode: .final)
        let harbour = try XCTUnwrap(draft.stage("harbour/denoise"))
        XCTAssertEqual(draft.model(of: harbour)?.identity.name, "workhorse/denoiser")
        XCTAssertEqual(harbour.parameters.int("steps"), 2)
        XCTAssertEqual(harbour.parameters.int("width"), 64)
        // No draft settings: the final's model, the family's draft steps, half the size (at least 64).
        let lighthouse = try XCTUnwrap(draft.stage("lighthouse/denoise"))
        XCTAssertEqual(draft.model(of: lighthouse)?.identity.name, "hero/denoiser")
        XCTAssertEqual(lighthouse.parameters.int("steps"), 2)
        XCTAssertEqual(lighthouse.parameters.int("height"), 64)
        for id in ["harbour/denoise", "market/denoise", "lighthouse/denoise"] {
            XCTAssertEqual(draft.stage(id)?.seed, final.stage(id)?.seed)
        }
    }

    func testIdenticalWorkIsBuiltOnce() throws {
        let text = """
            output: {size: 64x64}
            models: {m: {catalog: tiny-sd15}}
            shots:
              - {id: a, prompt: same words, duration: 1, seed: 1, final: {model: m}}
              - {id: b, prompt: same words, duration: 1, seed: 2, final: {model: m}}
            """
        let graph = try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)
        XCTAssertNil(graph.stage("b/encode-text"))
        XCTAssertEqual(graph.stage("a/encode-text")?.owners, ["shots[0]", "shots[1]"])
        XCTAssertEqual(graph.stage("b/denoise")?.inputs, ["a/encode-text"])
        XCTAssertNil(graph.stage("audio/mix"), "no voice or music: no mix")
        XCTAssertEqual(graph.stage("output/mux")?.inputs, ["video/encode"])
    }

    func testModelsMustMakeWhatTheyAreUsedFor() throws {
        let text = """
            output: {size: 64x64}
            models:
              m: {catalog: tiny-sd15}
              v: {catalog: piper-vits}
            shots:
              - {prompt: x, duration: 1, final: {model: v}}
            voices:
              - {text: hello, voice: m, start: 0}
            """
        XCTAssertThrowsError(try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)) {
            guard case StageGraphError.invalid(let issues) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(issues.map(\.field), ["shots[0].final.model", "voices[0].voice"])
            XCTAssertEqual(issues.map(\.location.line), [6, 8])
            XCTAssertTrue(issues[0].message.contains("'v' is a piper-vits model, which makes speech; a still shot"),
                          issues[0].message)
            XCTAssertTrue(issues[1].message.contains("makes images, not speech"), issues[1].message)
        }
    }

    /// An upscaler or interpolator family is not a chain model yet: naming one for a shot or a voice says what it
    /// makes instead of failing to find a text encoder or a voice in it.
    func testUpscalerAndInterpolatorFamiliesAreRefusedAsShotAndVoiceModels() throws {
        let text = """
            output: {size: 64x64}
            models:
              u: {catalog: realesr-animevideov3}
              r: {catalog: rife}
            shots:
              - {prompt: x, duration: 1, final: {model: u}}
            voices:
              - {text: hello, voice: r, start: 0}
            """
        XCTAssertThrowsError(try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)) {
            guard case StageGraphError.invalid(let issues) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(issues.map(\.field), ["shots[0].final.model", "voices[0].voice"])
            XCTAssertTrue(issues[0].message.contains("which makes upscaled images; a still shot needs one that makes "
                                                     + "images"), issues[0].message)
            XCTAssertTrue(issues[1].message.contains("makes interpolated frames, not speech"), issues[1].message)
        }
    }

    /// A still shot on a video family, and a video shot on an image family, are refused with a message, never built
    /// into stages the other family's runner would get.
    func testVideoFamiliesAreRefusedClearlyInWorkflows() throws {
        let text = """
            output: {size: 64x64}
            models:
              w: {catalog: tiny-wan21}
              h: {catalog: tiny-sd15}
            shots:
              - {prompt: a boat, duration: 1, final: {model: w}}
              - {prompt: a boat, duration: 1, motion: video, final: {model: h}}
            """
        XCTAssertThrowsError(try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)) {
            guard case StageGraphError.invalid(let issues) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(issues.map(\.field), ["shots[0].final.model", "shots[1].final.model"])
            XCTAssertTrue(issues[0].message.contains("'w' is a tiny-wan21 model, which makes videos; a still shot"),
                          issues[0].message)
            XCTAssertTrue(issues[1].message.contains("'h' is a tiny-sd15 model, which makes images; a video shot needs "
                                                     + "one that makes videos"), issues[1].message)
        }
    }
}
