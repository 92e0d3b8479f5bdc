import Foundation
import KinoraModels
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// The tiny families' activation figures (`models/tiny-*.yaml`) against their real pipelines: at every size in the
/// figures' measured range, what the planner predicts from the catalog (`CatalogStageModel`) must cover what the
/// pipeline plans for the stage (`StableDiffusionPipeline.memory(for:)`, which `Graph.memoryPlan` makes exact).
/// Graphs are recorded and planned, never run.
final class CatalogActivationFiguresTests: XCTestCase {
    /// The sizes the tiny figures were measured at (the yaml notes say so).
    static let measuredSizes = [32, 64, 128]

    override func tearDown() {
        ValidatedTestDevice.assertNoValidationMessages()
        super.tearDown()
    }

    private func fixture(_ family: String) -> URL {
        TestSupport.root.appendingPathComponent(family == "tiny-sdxl" ? "Tests/Fixtures/pipeline/sdxl"
                                                                      : "Tests/Fixtures/pipeline/sd")
    }

    private func model(_ family: KinoraPipeline.ModelFamily, _ role: ComponentRole,
                       precision: ActivationPrecision) throws -> CatalogStageModel {
        let identity = ModelIdentity(name: family.name, family: family.name, component: role.rawValue,
                                     fingerprint: "test", precision: "auto")
        return try XCTUnwrap(CatalogStageModel(family: family, role: role, identity: identity,
                                               activationPrecision: precision))
    }

    private func stage(_ kind: StageKind, size: Int, cfg: Double) -> Stage {
        Stage(id: "s", kind: kind, parameters: StageParameters([
            "width": .int(size), "height": .int(size), "cfg": .number(cfg), "steps": .int(4),
            "prompt": .string("a red boat"), "negative": .string(""),
        ]))
    }

    /// In f32 (the weights' type) and in both 16-bit types, whose plans take the figures' `half` values (SDXL's
    /// VAE stays f32 under fp16, as its pipeline upcasts it, and takes the f32 value).
    func testTinyFiguresCoverEveryStageThePipelinePlansInTheMeasuredRange() throws {
        let catalog = try TestSupport.catalog()
        for name in ["tiny-sd15", "tiny-sdxl"] {
            let family = try XCTUnwrap(catalog.family(named: name))
            for role in [ComponentRole.textEncoder, .denoiser, .decoder] {
                for component in family.components(role) {
                    let unit = role == .textEncoder ? "per_token" : role == .denoiser ? "per_latent_pixel" : "per_pixel"
                    XCTAssertEqual(component.activation[unit]?.basis, .measured, "\(name) \(component.name)")
                    XCTAssertNotNil(component.activation[unit]?.half, "\(name) \(component.name)")
                }
            }
            for requested in [ActivationPrecision.fp32, .fp16, .bf16] {
                try checkFiguresCover(family, requested: requested)
            }
        }
    }

    private func checkFiguresCover(_ family: KinoraPipeline.ModelFamily, requested: ActivationPrecision) throws {
        let name = family.name
        // The figures stand for GPUs, so they cover the stages as a GPU records them (no CPU-only Winograd
        // workspace).
        let pipeline = try StableDiffusionPipeline(folder: fixture(name), device: ValidatedTestDevice.shared,
                                                   precision: requested, convolutionStrategy: .automatic)
        let precision = pipeline.precision
        let text = try model(family, .textEncoder, precision: precision.textEncoders)
        let unet = try model(family, .denoiser, precision: precision.unet)
        let vae = try model(family, .decoder, precision: precision.vae)
        for size in Self.measuredSizes {
            var settings = KinoraModels.GenerationSettings(prompt: "a red boat")
            settings.width = size
            settings.height = size
            settings.guidanceScale = 7.5
            let memory = try pipeline.memory(for: settings)
            let label = "\(name) at \(size)x\(size) in \(requested.rawValue)"

            for guided in [true, false] {
                let planned = try GenerationMemory.planTextEncoding(
                    residentBytes: 0, textEncoding: memory.textEncoding, windows: memory.windows,
                    guidance: guided, budget: .max).textPeakBytes
                let predicted = text.activationBytes(for: [stage(.encodeText, size: size, cfg: guided ? 7.5 : 1)],
                                                     tactic: Tactic())
                XCTAssertGreaterThanOrEqual(predicted, planned, "\(label): text encoding, guided \(guided)")
            }

            // As `planDenoise` counts it: the conditioning of both halves, then the UNet's stage.
            let conditioning = 2 * memory.textEncoding.outputBytes * UInt64(memory.windows)
            for (guidance, recorded) in [(Tactic.Guidance.batched, memory.unetBatch2),
                                         (.sequential, memory.unetBatch1)] {
                let predicted = unet.activationBytes(for: [stage(.denoise, size: size, cfg: 7.5)],
                                                     tactic: Tactic(guidance: guidance))
                XCTAssertGreaterThanOrEqual(predicted, conditioning + recorded.peakBytes,
                                            "\(label): UNet, guidance \(guidance)")
            }

            let decode = stage(.decode, size: size, cfg: 7.5)
            XCTAssertGreaterThanOrEqual(vae.activationBytes(for: [decode], tactic: Tactic()),
                                        memory.decodeUntiled.peakBytes, "\(label): untiled decode")
            for tiled in memory.decodeTiled {
                let predicted = vae.activationBytes(for: [decode],
                                                    tactic: Tactic(tileLatentSize: tiled.latentTileSize))
                XCTAssertGreaterThanOrEqual(predicted, tiled.stage.peakBytes,
                                            "\(label): decode with \(tiled.latentTileSize)-latent tiles")
            }
        }
    }

    /// A fresh measurement of tiny-sd15 over the measured sizes finds no figure above the catalog's: the committed
    /// figures still cover the model as it records today, the f32 values in f32 (its weights' type) and the `half`
    /// values in bf16.
    func testCommittedTinyFiguresCoverAFreshMeasurement() throws {
        let family = try XCTUnwrap(try TestSupport.catalog().family(named: "tiny-sd15"))
        let components = try StableDiffusionComponents(folder: fixture("tiny-sd15"))
        for precision in [nil, ActivationPrecision.bf16] {
            let measurement = try CatalogActivationFigures.measure(
                folder: "tiny-sd15", components: components, sizes: Self.measuredSizes, precision: precision,
                device: ValidatedTestDevice.shared)
            let figures = measurement.figures
            XCTAssertEqual(Set(figures.map { "\($0.component) \($0.unit)" }),
                           ["text_encoder per_token", "unet per_latent_pixel", "vae per_pixel"])
            for figure in figures {
                let committed = try XCTUnwrap(family.components.first { $0.name == figure.component }?
                    .activation[figure.unit], "\(figure.component) \(figure.unit)")
                XCTAssertGreaterThanOrEqual(committed.value(halfActivations: precision != nil), figure.value,
                                            "\(figure.component) activation_\(figure.unit) in \(precision ?? .fp32): "
                                                + "measured at \(figure.setting)")
                XCTAssertGreaterThanOrEqual(figure.value, figure.smallest)
            }
            let unet = try XCTUnwrap(measurement.figure("unet", "per_latent_pixel"))
            XCTAssertEqual(unet.samples, 2 * Self.measuredSizes.count, "batch 1 and 2 at every size")
        }
    }

    /// The tiny Wan families' committed figures cover a fresh plan of their fixtures at the sizes their notes name
    /// (the plan the allocator's peaks equal: `WanMemoryPlanTests`): the f32 values with f32 activations, the
    /// `half` values with f16 and with bf16 ones.
    func testCommittedTinyWanFiguresCoverAFreshMeasurement() throws {
        let catalog = try TestSupport.catalog()
        for (name, folder, sizes) in [
            ("tiny-wan21", "t2v", [(48, 32, 9), (64, 64, 17), (128, 96, 9)]),
            ("tiny-wan22", "ti2v", [(64, 32, 9), (64, 64, 17), (128, 96, 9)]),
        ] {
            let family = try XCTUnwrap(catalog.family(named: name))
            let components = try WanStageComponents(
                folder: TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-pipeline/\(folder)"))
            for precision in ActivationPrecision.allCases {
                let measurement = try CatalogActivationFigures.measure(
                    wan: components, name: name, sizes: sizes.map { .init(width: $0.0, height: $0.1, frames: $0.2) },
                    tokens: [128, 512], method: "test", precision: precision, device: ValidatedTestDevice.shared)
                XCTAssertEqual(
                    Set(measurement.figures.map { "\($0.component) \($0.unit)" }),
                    ["text_encoder per_token", "transformer per_latent_voxel", "vae per_pixel"])
                for figure in measurement.figures {
                    let committed = try XCTUnwrap(
                        family.components.first { $0.name == figure.component }?.activation[figure.unit],
                        "\(name) \(figure.component) \(figure.unit)")
                    XCTAssertNotNil(committed.half, "\(name) \(figure.component): no half value")
                    XCTAssertGreaterThanOrEqual(
                        committed.value(halfActivations: precision != .fp32), figure.value,
                        "\(name) \(figure.component) in \(precision): measured at \(figure.setting)")
                }
            }
        }
    }

    /// `kinora bench model --catalog-figures --precision`: the tiny families' figures measured in f16 are below those
    /// measured in f32 (their weights' type, so the committed figures'), and the measurement says which it was. Not
    /// UMT5's: with f16 its residual stream stays f32 beside the f16 activations (as transformers runs it) and its
    /// attention mask is f32 in every type, so on the tiny encoder at 128 tokens f16 plans as many bytes as f32 (6592
    /// per token); and SD's VAE only from 64²,
    /// where the f16 activations outweigh the f32 picture it returns (at 32² both plan 336 bytes a pixel).
    func testFiguresMeasuredInHalfPrecisionAreSmallerThanInSinglePrecision() throws {
        let device = ValidatedTestDevice.shared
        let components = try StableDiffusionComponents(folder: fixture("tiny-sd15"))
        let wan = try WanStageComponents(
            folder: TestSupport.root.appendingPathComponent("Tests/Fixtures/wan-pipeline/t2v"))
        let measured = try [ActivationPrecision.fp16, .fp32].map { precision in
            try CatalogActivationFigures.measure(folder: "tiny-sd15", components: components, sizes: [64],
                                                 windows: [1], precision: precision, device: device).figures
                + CatalogActivationFigures.measure(
                    wan: wan, name: "tiny-wan21", sizes: [.init(width: 48, height: 32, frames: 9)], tokens: [128],
                    method: "test", precision: precision, device: device).figures
                    .filter { $0.component != "text_encoder" }
        }
        let (half, full) = (measured[0], measured[1])
        XCTAssertEqual(half.map { "\($0.component) \($0.unit)" }, full.map { "\($0.component) \($0.unit)" })
        XCTAssertEqual(half.count, 5)
        for (small, large) in zip(half, full) {
            XCTAssertLessThan(small.value, large.value, "\(small.component) \(small.unit)")
        }
        let method = try CatalogActivationFigures.measure(folder: "tiny-sd15", components: components, sizes: [64],
                                                          windows: [1], precision: .bf16, device: device).method
        XCTAssertTrue(method.hasSuffix(", bf16 activations"), method)
    }
}
