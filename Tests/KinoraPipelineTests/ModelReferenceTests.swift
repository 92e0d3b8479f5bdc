import Foundation
import KinoraModels
import XCTest

@testable import KinoraPipeline

/// A model reference's single-file options (`prediction`, `tokenizer`, `config`): read and validated, part of the
/// cache parameters of the stages the model runs, and handed to the single-file loader by the runner.
final class ModelReferenceTests: XCTestCase {
    private func workflow(_ model: String, voice: String = "") throws -> Workflow {
        try Workflow.parse("""
            output: {size: 64x64}
            models:
              hero: \(model)
            \(voice)
            shots:
              - {id: a, prompt: a boat, duration: 1, final: {model: hero}}
            """, file: "w.yaml")
    }

    func testReadsPredictionTokenizerAndConfig() throws {
        let reference = try XCTUnwrap(try workflow(
            "{path: sd2-base.safetensors, family: sd2, prediction: eps, tokenizer: tok, config: cfg/sd2}"
        ).model(named: "hero"))
        XCTAssertEqual(reference.prediction, .epsilon)
        XCTAssertEqual(reference.tokenizer, "tok")
        XCTAssertEqual(reference.config, "cfg/sd2")
        XCTAssertEqual(reference.singleFileOptionsDescription, "prediction=epsilon,tokenizer=tok,config=cfg/sd2")
        XCTAssertEqual(try workflow("{catalog: sd2, prediction: v_prediction}").model(named: "hero")?.prediction, .v)
        XCTAssertFalse(try XCTUnwrap(try workflow("{catalog: sd2}").model(named: "hero")).hasSingleFileOptions)
    }

    /// `base` is kept as written with its line, for the locator and its messages; it is no single-file option of
    /// Stable Diffusion's.
    func testReadsTheBaseOfASingleTransformerFile() throws {
        let reference = try XCTUnwrap(try workflow(
            "{path: self_forcing_dmd.pt, family: wan21-causal-1.3b,\n    base: Wan2.1-T2V-1.3B-Diffusers}"
        ).model(named: "hero"))
        XCTAssertEqual(reference.base, "Wan2.1-T2V-1.3B-Diffusers")
        XCTAssertEqual(reference.baseLocation?.line, 4)
        XCTAssertFalse(reference.hasSingleFileOptions)
        XCTAssertNil(try workflow("{catalog: wan21-causal-1.3b}").model(named: "hero")?.base)
        XCTAssertThrowsError(try workflow("{catalog: wan21-causal-1.3b, base: ''}")) { error in
            XCTAssertTrue("\(error)".contains("models.hero.base"), "\(error)")
            XCTAssertTrue("\(error)".contains("must not be empty"), "\(error)")
        }
    }

    func testRejectsAnUnknownPredictionAndAnEmptyPath() throws {
        XCTAssertThrowsError(try workflow("{catalog: sd2, prediction: sample}")) { error in
            XCTAssertTrue("\(error)".contains("unknown value 'sample'"), "\(error)")
            XCTAssertTrue("\(error)".contains("expected one of epsilon, v"), "\(error)")
        }
        XCTAssertThrowsError(try workflow("{catalog: sd2, tokenizer: ''}")) { error in
            XCTAssertTrue("\(error)".contains("must not be empty"), "\(error)")
        }
    }

    func testOptionsArePartOfTheCacheParametersOfTheModelsStages() throws {
        let plain = try TestSupport.builder().build(try workflow("{catalog: sd2}"), mode: .final)
        let epsilon = try TestSupport.builder().build(try workflow("{catalog: sd2, prediction: epsilon}"),
                                                      mode: .final)
        for id in ["a/encode-text", "a/denoise", "a/decode"] {
            XCTAssertNil(plain.stage(id)?.parameters.string("model_options"), id)
            XCTAssertEqual(epsilon.stage(id)?.parameters.string("model_options"), "prediction=epsilon", id)
        }
        XCTAssertNil(epsilon.stage("a/animate")?.parameters.string("model_options"))
    }

    func testAVoiceRejectsSingleFileOptions() throws {
        let text = """
            output: {size: 64x64}
            models:
              hero: {catalog: sd15}
              narrator: {catalog: piper-vits, prediction: v}
            shots:
              - {id: a, prompt: a boat, duration: 1, final: {model: hero}}
            voices:
              - {text: hello, voice: narrator, start: 0}
            """
        XCTAssertThrowsError(try TestSupport.builder().build(try Workflow.parse(text, file: "w.yaml"), mode: .final)) {
            guard case StageGraphError.invalid(let issues) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(issues.map(\.field), ["models.narrator"])
            XCTAssertTrue(issues[0].message.contains("not to a piper-vits voice"), issues[0].message)
        }
    }

    func testTheSameWeightsWithTwoSetsOfOptionsAreRefused() throws {
        let text = """
            output: {size: 64x64}
            models:
              base: {path: sd2.safetensors, family: sd2, prediction: epsilon}
              vee: {path: sd2.safetensors, family: sd2, prediction: v}
            shots:
              - {id: a, prompt: a boat, duration: 1, final: {model: base}}
              - {id: b, prompt: a boat, duration: 1, final: {model: vee}}
            """
        // Both references name one file, so their models share a key, as RenderPreparation's would.
        let provider: StageGraphBuilder.ModelProvider = { reference, family, role in
            let identity = ModelIdentity(name: "\(reference.name)/\(role.rawValue)", family: family.name,
                                         component: role.rawValue, fingerprint: "same-file", precision: "auto")
            return try XCTUnwrap(CatalogStageModel(family: family, role: role, identity: identity))
        }
        let builder = StageGraphBuilder(catalog: try TestSupport.catalog(), provideModel: provider,
                                        fingerprint: { "test-file:\($0)" })
        XCTAssertThrowsError(try builder.build(try Workflow.parse(text, file: "w.yaml"), mode: .final)) {
            guard case StageGraphError.invalid(let issues) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(issues.map(\.field), ["models.vee"])
            XCTAssertTrue(issues[0].message.contains("'vee' and 'base' are the same weights"), issues[0].message)
        }
    }

    func testTheRunnerResolvesTheOptionsForTheSingleFileLoader() throws {
        let workflow = try workflow("{path: sd2.safetensors, family: sd2, prediction: eps, tokenizer: tok, "
                                    + "config: /abs/cfg}")
        let reference = try XCTUnwrap(workflow.model(named: "hero"))
        let options = ChainStageRunner.singleFileOptions(reference, workflowFolder: URL(fileURLWithPath: "/work/f"))
        XCTAssertEqual(options.prediction, .epsilon)
        XCTAssertEqual(options.tokenizer?.path, "/work/f/tok")
        XCTAssertEqual(options.configuration?.path, "/abs/cfg")
        XCTAssertNil(ChainStageRunner.singleFileOptions(nil, workflowFolder: URL(fileURLWithPath: "/w")).prediction)
        let url = URL(fileURLWithPath: "/m/sd2.safetensors")
        XCTAssertEqual(ChainStageRunner.pipelineKey(url, nil), "/m/sd2.safetensors")
        XCTAssertNotEqual(ChainStageRunner.pipelineKey(url, reference), "/m/sd2.safetensors")
    }

    func testWeightsMergedWithOtherLoRAsNeverShareAPipeline() {
        let url = URL(fileURLWithPath: "/m/sd15")
        let style = LoRAAdapter(url: URL(fileURLWithPath: "/l/style.safetensors"), strength: 0.8)
        let keys = [[], [style], [LoRAAdapter(url: style.url, strength: 0.5)],
                    [style, LoRAAdapter(url: URL(fileURLWithPath: "/l/detail.safetensors"))]]
            .map { ChainStageRunner.pipelineKey(url, nil, adapters: $0) }
        XCTAssertEqual(Set(keys).count, keys.count, "\(keys)")
        XCTAssertEqual(keys[0], "/m/sd15")
    }

    /// A reference's `precision:` is the activation precision its pipeline opens with, and the same weights under
    /// another precision never share a pipeline.
    func testPrecisionIsTheActivationPrecisionAndKeepsPipelinesApart() throws {
        let precisions = try ["auto", "f32", "f16", "bf16"].map { value in
            try XCTUnwrap(workflow("{catalog: sd15, precision: \(value)}").model(named: "hero")).precision
        }
        XCTAssertEqual(precisions.map(\.activationPrecision), [nil, .fp32, .fp16, .bf16])
        let url = URL(fileURLWithPath: "/m/sd15")
        let keys = try ["auto", "f32", "f16", "bf16"].map { value in
            ChainStageRunner.pipelineKey(url, try workflow("{catalog: sd15, precision: \(value)}").model(named: "hero"))
        }
        XCTAssertEqual(keys[0], "/m/sd15")
        XCTAssertEqual(Set(keys).count, keys.count, "\(keys)")
    }

    /// The precision a model's identity records (what its stages are keyed and run on) reads back as the reference's
    /// activation precision; a video model's bad `precision:` is refused as any model's is, naming the field.
    func testTheIdentitysPrecisionIsTheReferencesAndABadOneIsRefused() throws {
        for value in ["auto", "f32", "fp32", "f16", "fp16", "half", "bf16"] {
            let reference = try XCTUnwrap(try workflow("{catalog: tiny-wan21, precision: \(value)}")
                .model(named: "hero"))
            let identity = ModelIdentity(name: "hero/denoiser", family: "tiny-wan21", component: "denoiser",
                                         fingerprint: "f", precision: reference.precision.rawValue)
            XCTAssertEqual(identity.activationPrecision, reference.precision.activationPrecision, value)
        }
        XCTAssertThrowsError(try workflow("{catalog: tiny-wan21, precision: fp8}")) { error in
            XCTAssertTrue("\(error)".contains("models.hero.precision"), "\(error)")
            XCTAssertTrue("\(error)".contains("unknown value 'fp8'"), "\(error)")
        }
    }
}
