import Foundation
import KinoraGPU
@testable import KinoraModels
import KinoraTensor
import XCTest

/// The tiny SD 1.x and SDXL pipelines with 16-bit activations against the same diffusers f32 fixtures the f32 runs
/// match to 1e-3 (`StableDiffusionPipelineTests`), and the memory plans that follow the precision.
final class StableDiffusionPrecisionTests: ModelTestCase {
    private func run(_ folder: String, expected: String, precision: ActivationPrecision?) throws
        -> (pipeline: StableDiffusionPipeline, image: [Float], reference: [Float]) {
        let expected = try fixture(expected)
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL(folder), device: device, precision: precision)
        let image = try pipeline.generate(try GenerationSettings(fixture: expected))
        return (pipeline, image, try expected.floats("image"))
    }

    /// Whether `pipeline`'s UNet really stores activations in `dtype`: a resnet output (the mid block's) recorded
    /// over the pipeline's stand-in inputs is of that type, and the prediction still leaves the graph as f32.
    private func assertUNetActivations(_ pipeline: StableDiffusionPipeline, _ dtype: DType,
                                       line: UInt = #line) throws {
        let unet = pipeline.unet
        XCTAssertEqual(unet.activationDType, dtype, line: line)
        let graph = makeGraph()
        let inputs = try CatalogInputs.unet(graph, unet.configuration, batch: 1, height: 4, width: 4)
        let recorded = try unet.record(graph, sample: inputs.sample, timestep: 500,
                                       encoderHiddenStates: inputs.encoderHiddenStates,
                                       addedConditions: inputs.addedConditions)
        XCTAssertEqual(try XCTUnwrap(recorded.midBlock).dtype, dtype, "mid block output", line: line)
        XCTAssertEqual(try CatalogInputs.recordUNet(graph, unet, inputs).dtype, .f32, "prediction", line: line)
    }

    func testStableDiffusionWithF16ActivationsStaysCloseToDiffusersF32() throws {
        let (pipeline, image, reference) = try run("pipeline/sd", expected: "pipeline/expected.safetensors",
                                                   precision: .fp16)
        XCTAssertEqual(pipeline.precision, StableDiffusionPrecision(textEncoders: .fp16, unet: .fp16, vae: .fp16))
        try assertUNetActivations(pipeline, .f16)
        let error = relativeL2(image, reference)
        print("SD 1.x fp16 image: relative L2 \(error) against diffusers f32")
        XCTAssertLessThan(error, Self.f16Tolerance)
    }

    func testStableDiffusionWithBF16ActivationsStaysCloseToDiffusersF32() throws {
        let (pipeline, image, reference) = try run("pipeline/sd", expected: "pipeline/expected.safetensors",
                                                   precision: .bf16)
        XCTAssertEqual(pipeline.precision, StableDiffusionPrecision(textEncoders: .bf16, unet: .bf16, vae: .bf16))
        try assertUNetActivations(pipeline, .bf16)
        let error = relativeL2(image, reference)
        print("SD 1.x bf16 image: relative L2 \(error) against diffusers f32")
        XCTAssertLessThan(error, Self.bf16Tolerance)
    }

    /// SDXL's VAE config says `force_upcast`, so at fp16 it runs f32 as diffusers' SDXL pipeline upcasts it; at
    /// bf16 it stays bf16 (diffusers upcasts only float16).
    func testStableDiffusionXLWithHalfActivationsUpcastsItsVAEAtF16AndStaysCloseToDiffusersF32() throws {
        for (precision, tolerance) in [(ActivationPrecision.fp16, Self.f16Tolerance), (.bf16, Self.bf16Tolerance)] {
            let (pipeline, image, reference) = try run("pipeline/sdxl", expected: "pipeline/expected-sdxl.safetensors",
                                                       precision: precision)
            XCTAssertTrue(pipeline.components.vaeConfiguration.forceUpcast)
            XCTAssertEqual(pipeline.precision, StableDiffusionPrecision(
                textEncoders: precision, unet: precision, vae: precision == .fp16 ? .fp32 : precision))
            try assertUNetActivations(pipeline, precision.dtype)
            let error = relativeL2(image, reference)
            print("SDXL \(precision) image: relative L2 \(error) against diffusers f32")
            XCTAssertLessThan(error, tolerance, "\(precision)")
        }
    }

    /// The streamed UNet records each piece with the same activation type, so at f16 it gives the resident
    /// pass's latents bit for bit, under its plan.
    func testStreamedUNetWithF16ActivationsGivesTheResidentLatentsBitForBit() throws {
        var settings = try GenerationSettings(fixture: fixture("pipeline/expected.safetensors"))
        settings.steps = 2
        let latents = try [WeightStreaming.off, .on].map { streaming in
            var planned = settings
            planned.unetWeightStreaming = streaming
            let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device,
                                                       precision: .fp16)
            device.memory.resetPeak()
            let generation = try pipeline.run(planned)
            XCTAssertEqual(generation.memoryPlan.streamedUNet, streaming == .on)
            XCTAssertLessThanOrEqual(device.memory.peakBytes, generation.memoryPlan.peakBytes, "\(streaming)")
            return generation.latents
        }
        XCTAssertEqual(latents[0], latents[1])
    }

    func testModelsRunInTheirWeightsTypeByDefault() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        XCTAssertEqual(pipeline.precision, StableDiffusionPrecision(textEncoders: .fp32, unet: .fp32, vae: .fp32),
                       "the fixture's weights are F32")
        let sd15 = try CatalogModel.sd15.makeUNet(device: device, shapesOnly: true)
        XCTAssertEqual(sd15.activationDType, .f16, "random F16 weights")
        XCTAssertEqual(try CatalogModel.sdxl.makeAutoencoder(device: device, shapesOnly: true).activationDType, .f32,
                       "SDXL's F16 VAE is upcast")
        XCTAssertEqual(try CatalogModel.sd15.makeAutoencoder(device: device, shapesOnly: true).activationDType, .f16,
                       "SD 1.5's pipeline never upcasts")
        XCTAssertEqual(try CatalogModel.sdxl.makeAutoencoder(device: device, shapesOnly: true, precision: .bf16)
            .activationDType, .bf16)
    }

    /// The planner's figures follow the activation type: the UNet's and the VAE's architectural estimates count two
    /// bytes an activation at fp16, and the recorded UNet stage (`Graph.memoryPlan`) plans less than at fp32. The
    /// convolutions are recorded as on GPUs: the Winograd workspace CPU drivers add is f32 at any activation type.
    func testPlannedStagesShrinkWithF16Activations() throws {
        var settings = GenerationSettings(prompt: "a red fox")
        settings.steps = 1
        // Large enough that activations outgrow the arena's 64 KiB slot rounding.
        settings.width = 256
        settings.height = 256
        settings.unetWeightStreaming = .off
        let memory = try [ActivationPrecision.fp32, .fp16].map { precision in
            try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device, precision: precision,
                                        convolutionStrategy: .automatic).memory(for: settings)
        }
        let (f32, f16) = (memory[0], memory[1])
        for (name, full, half) in [("UNet batch 1", f32.unetBatch1, f16.unetBatch1),
                                   ("UNet batch 2", f32.unetBatch2, f16.unetBatch2)] {
            XCTAssertEqual(try XCTUnwrap(half.estimatedBytes) * 2, try XCTUnwrap(full.estimatedBytes), name)
            print("\(name): planned \(full.plannedBytes) bytes at fp32, \(half.plannedBytes) at fp16")
            XCTAssertLessThan(half.plannedBytes, full.plannedBytes, name)
        }
        let vae = try [ActivationPrecision.fp32, .fp16].map {
            try AutoencoderKL(configuration: CatalogModel.sd15.vaeConfiguration(),
                              weights: .shapesOnly(store: RandomWeightStore(
                                  shapes: CatalogLayout.autoencoderKL(CatalogModel.sd15.vaeConfiguration()),
                                  sourceName: "random vae"), device: device), precision: $0)
                .decodeActivationBytes(height: 64, width: 64)
        }
        print("VAE decode estimate 512²: \(vae[0]) bytes at fp32, \(vae[1]) at fp16")
        XCTAssertLessThan(Double(vae[1]), 0.6 * Double(vae[0]))
    }

    /// Relative L2 of the decoded image against diffusers' f32 run. Each stored activation is rounded once to the
    /// 16-bit type (relative 2⁻¹¹ for f16, 2⁻⁹ for bf16), and the roundings of a few dozen stored layers over four
    /// sampler steps add up: measured with the elementwise ops converted (the others still f32), SD 1.x 1.9e-3 at
    /// f16 and 1.4e-2 at bf16, SDXL 9.5e-4 and 8.7e-3. The bounds leave room for every op storing 16 bits (about
    /// four times the measured error) and stay far below the O(1) error of a wrong graph.
    static let f16Tolerance = 1e-2
    static let bf16Tolerance = 6e-2
}
