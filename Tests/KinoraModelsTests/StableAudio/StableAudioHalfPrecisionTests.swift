import Foundation
import KinoraFormats
import KinoraTensor
import KinoraTestSupport
import XCTest

@testable import KinoraModels

/// Stable Audio with f16 and bf16 activations (`--precision`) against the same diffusers fp32 references as its f32
/// tests: the DiT (its Fourier time features staying f32, its blocks storing the activation type), the projection
/// model's conditioning, the Oobleck VAE's decode and encode, and the tiny pipeline's audio; a folder with f16 or bf16
/// weights runs in its type unless told otherwise; a generation runs at its planned peak; plans shrink.
///
/// Tolerances (relative L2), as `WanHalfPrecisionTests` argues them: ten units of the type's rounding, 5e-3 for f16
/// and 4e-2 for bf16, for the DiT and the projection (a few dozen roundings in a row). The Oobleck VAE is less
/// forgiving: each Snake, x + sin²(e^α·x)/e^β, multiplies an error in its input by up to its slope e^α/e^β, which
/// reaches 9.4 on the VAE fixture, and a dozen of them run in a row at rising rates. Its decode and encode, and the
/// pipeline, which decodes through it (and with an initial audio encodes), get `vaeFactor` times the bound: 5e-2 for
/// f16 and 4e-1 for bf16 (lavapipe measures 1.9e-2 and 1.1e-1 for the VAE, 1.6e-2 and 7.6e-2 for the pipeline).
final class StableAudioHalfPrecisionTests: ModelTestCase {
    static let tolerances: [(precision: ActivationPrecision, tolerance: Double)] = [(.fp16, 5e-3), (.bf16, 4e-2)]
    /// The VAE's and the pipeline's bound over the models' (the Snake's largest slope on the fixture, rounded up).
    static let vaeFactor = 10.0

    // MARK: Models

    func testTheDiTMatchesDiffusersWithHalfActivations() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioDiTModel(folder: fixture.transformerFolder, device: device)
        XCTAssertEqual([model.weightsType, model.activationType(nil)], [.f32, .f32])
        let timestep = try fixture.values("timestep")
        let expected = try fixture.values("sample")
        var f32: [Float] = []
        for (precision, tolerance) in [(ActivationPrecision.fp32, 1e-5)] + Self.tolerances {
            let graph = makeGraph()
            graph.activationDType = model.activationType(precision)
            XCTAssertEqual(graph.activationDType, precision.dtype)
            let output = try model(
                graph, hiddenStates: fixture.input(graph, "hidden_states"), timestep: timestep,
                encoderHiddenStates: fixture.input(graph, "encoder_hidden_states"),
                globalHiddenStates: fixture.input(graph, "global_hidden_states"))
            XCTAssertEqual(output.dtype, precision.dtype, "the prediction leaves in the activation type")
            XCTAssertEqual(try model.timeProjection(graph, timestep).dtype, .f32, "\(precision): the time features")
            let global = try model.globalStates(graph, fixture.input(graph, "global_hidden_states"), timestep: timestep)
            XCTAssertEqual(global.dtype, precision.dtype)
            let context = try StableAudioDiTLayers.mlp(
                graph, model.weights.scoped("cross_attention_proj"), fixture.input(graph, "encoder_hidden_states"),
                inputs: 7, outputs: 12, bias: false)
            let block = try model.block(0)(
                graph, graph.concat([global, global], axis: 1), context: context,
                rotary: model.rotaryTable(graph, positions: 2))
            XCTAssertEqual(block.dtype, precision.dtype, "a block stores its output in the activation type")
            let actual = try graph.run([output])[0].floats()
            let error = relativeL2(actual, expected)
            XCTAssertLessThanOrEqual(error, tolerance, "\(precision)")
            print("Stable Audio DiT, \(precision) activations vs diffusers fp32: relative L2 \(error)")
            if precision == .fp32 { f32 = actual } else { XCTAssertNotEqual(actual, f32, "\(precision) rounds") }
        }
        // diffusers' fp16 variant: its weights' type is its activations' by default.
        let half = try StableAudioDiTModel(
            configuration: model.configuration,
            weights: DeviceWeights(
                store: SafetensorsFile(url: fixture.writeTransformer(
                    to: makeTemporaryFolder(self).appending(path: "fp16.safetensors"), as: .f16)),
                device: device))
        XCTAssertEqual([half.weightsType, half.activationType(nil), half.activationType(.fp32)], [.f16, .f16, .f32])
    }

    func testTheProjectionMatchesDiffusersWithHalfActivations() throws {
        let fixture = try StableAudioDiTFixture(test: self)
        let model = try StableAudioProjectionModel(
            folder: fixture.folder.appending(path: "projection_model"), device: device)
        XCTAssertEqual(model.activationType(nil), .f32)
        for (precision, tolerance) in Self.tolerances {
            let graph = makeGraph()
            graph.activationDType = model.activationType(precision)
            let (encoder, global) = try model.conditioning(
                graph, text: fixture.input(graph, "text_hidden_states"),
                textMask: fixture.input(graph, "text_attention_mask"), secondsStart: fixture.values("seconds_start"),
                secondsEnd: fixture.values("seconds_end"))
            XCTAssertEqual([encoder.dtype, global.dtype], [precision.dtype, precision.dtype])
            let tensors = try graph.run([encoder, global])
            for (tensor, name) in zip(
                tensors, ["projection.masked_encoder_hidden_states", "projection.global_hidden_states"]
            ) {
                let error = relativeL2(try tensor.floats(), try fixture.values(name))
                XCTAssertLessThanOrEqual(error, tolerance, "\(precision) \(name)")
                print("Stable Audio \(name), \(precision) activations vs diffusers fp32: relative L2 \(error)")
            }
        }
    }

    func testTheVAEMatchesDiffusersWithHalfActivations() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let vae = try fixture.model(self)
        XCTAssertEqual(vae.activationType(nil), .f32)
        for (precision, tolerance) in Self.tolerances {
            let graph = makeGraph()
            graph.activationDType = vae.activationType(precision)
            let audio = try vae.decode(graph, fixture.input("latents", in: graph))
            let (mean, std) = try vae.encode(graph, fixture.input("audio", in: graph))
            let sample = try vae.sample(graph, mean: mean, std: std, noise: fixture.input("noise", in: graph))
            XCTAssertEqual(Set([audio, mean, std, sample].map(\.dtype)), [precision.dtype])
            let tensors = try graph.run([audio, mean, std, sample])
            for (tensor, name) in zip(tensors, ["decoded", "mean", "std", "sample"]) {
                let error = relativeL2(try tensor.floats(), try fixture.values(name))
                XCTAssertLessThanOrEqual(error, Self.vaeFactor * tolerance, "\(precision) \(name)")
                print("Oobleck \(name), \(precision) activations vs diffusers fp32: relative L2 \(error)")
            }
        }
    }

    // MARK: Pipeline

    /// The tiny pipeline's text-to-audio with guidance (`cfg`) and its audio-to-audio (`init`) at each 16-bit type,
    /// against diffusers' fp32 audio from the same noise.
    func testTheTinyPipelineMakesDiffusersAudioWithHalfActivations() throws {
        let pipeline = try StableAudioPipeline(folder: fixtureURL("stable-audio"), device: device)
        let expected = try fixture("stable-audio/expected.safetensors")
        let textToAudio = StableAudioPipeline.Settings(
            prompt: "a red fox in the snow", secondsStart: 0.25, secondsEnd: 1.75, steps: 4, guidanceScale: 3, seed: 7)
        var audioToAudio = StableAudioPipeline.Settings(
            prompt: "a red fox in the snow", secondsStart: 0.25, secondsEnd: 1.75, steps: 4, guidanceScale: 3, seed: 5)
        audioToAudio.initialAudio = .init(channels: 2, sampleRate: 16, samples: try expected.floats("init.waveform"))
        for (precision, tolerance) in Self.tolerances {
            pipeline.precision = precision
            for (name, settings) in [("cfg", textToAudio), ("init", audioToAudio)] {
                let audio = try pipeline.generate(settings)
                let error = relativeL2(audio.samples, try expected.floats("\(name).audio"))
                XCTAssertLessThanOrEqual(error, Self.vaeFactor * tolerance, "\(precision) \(name)")
                print("Stable Audio tiny pipeline (\(name)), \(precision) activations vs diffusers fp32: relative L2 "
                    + "\(error)")
            }
        }
    }

    /// A generation with half activations, text to audio and audio to audio, allocates exactly the plan's peak, as
    /// the f32 one does (`StableAudioPipelineTests.testThePlanCoversARunsPeak`).
    func testAGenerationWithHalfActivationsRunsAtItsPlannedPeak() throws {
        for (precision, _) in Self.tolerances {
            for initialAudio in [false, true] {
                let pipeline = try StableAudioPipeline(folder: fixtureURL("stable-audio"), device: device)
                pipeline.precision = precision
                try assertRunsAtItsPlannedPeak(
                    pipeline, initialAudio: initialAudio, activations: precision.dtype,
                    "\(precision), initial audio: \(initialAudio)")
            }
        }
    }

    /// A Stable Audio folder with f16 or bf16 weights runs every model in that type by default, at its planned peak;
    /// `--precision fp32` still runs f32.
    func testAHalfFolderRunsInItsWeightsTypeUnlessTold() throws {
        for (weights, activations) in [(WeightDType.f16, DType.f16), (.bf16, .bf16)] {
            let folder = try ConvertedWeightFolder.copy(fixtureURL("stable-audio"), as: weights, for: self)
            let pipeline = try StableAudioPipeline(folder: folder, device: device)
            XCTAssertNil(pipeline.precision)
            XCTAssertEqual(
                [pipeline.textEncoder.activationType(nil), pipeline.projection.activationType(nil),
                 pipeline.transformer.activationType(nil), pipeline.vae.activationType(nil)],
                [activations, activations, activations, activations])
            XCTAssertEqual(
                [pipeline.textEncoder.activationType(.fp32), pipeline.projection.activationType(.fp32),
                 pipeline.transformer.activationType(.fp32), pipeline.vae.activationType(.fp32)],
                [.f32, .f32, .f32, .f32])
            try assertRunsAtItsPlannedPeak(
                pipeline, initialAudio: false, activations: activations, "\(weights.rawValue) weights")
        }
    }

    /// The tiny folder's plan and Stable Audio Open 1.0's (shape-only random weights, planned at fp32 and at each
    /// 16-bit type whatever the weights): every stage takes less beside the same weights with 16-bit activations.
    func testHalfPlansAreSmaller() throws {
        let tiny = { (precision: ActivationPrecision) in
            try StableAudioMemoryPlanner.plan(
                folder: self.fixtureURL("stable-audio"), guidance: true, initialAudio: true, device: self.device,
                precision: precision)
        }
        let open = { (precision: ActivationPrecision) in try self.stableAudioOpenPlan(precision) }
        for (name, plan) in [("tiny", tiny), ("Stable Audio Open 1.0", open)] {
            let full = try plan(.fp32)
            XCTAssertEqual([full.transformerActivations, full.vaeActivations], [.f32, .f32])
            for (precision, _) in Self.tolerances {
                let half = try plan(precision)
                XCTAssertEqual([half.transformerActivations, half.vaeActivations], [precision.dtype, precision.dtype])
                XCTAssertEqual(half.stages.map(\.stage), full.stages.map(\.stage))
                for (f32, f16) in zip(full.stages, half.stages) {
                    XCTAssertEqual(f16.weightBytes, f32.weightBytes, "\(name) \(f32.stage)")
                    XCTAssertLessThan(f16.peakBytes - f16.weightBytes, f32.peakBytes - f32.weightBytes,
                                      "\(name) \(precision) \(f32.stage)")
                    print("\(name) \(f32.stage): planned beside the weights f32 \(f32.peakBytes - f32.weightBytes), "
                        + "\(precision) \(f16.peakBytes - f16.weightBytes)")
                }
            }
        }
    }

    /// Stable Audio Open 1.0 over shape-only random F16 weights, planned at `precision`.
    private func stableAudioOpenPlan(_ precision: ActivationPrecision) throws -> StableAudioMemoryPlan {
        func weights(_ shapes: [(name: String, shape: [Int])]) -> DeviceWeights {
            .shapesOnly(
                store: RandomWeightStore(
                    shapes: Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, $0.shape) }),
                    sourceName: "random Stable Audio Open 1.0"),
                device: device)
        }
        let t5 = UMT5Config(
            vocabSize: 32128, dModel: 768, dKV: 64, dFF: 3072, numLayers: 12, numHeads: 12, feedForwardProj: "relu",
            modelType: "t5")
        return try StableAudioMemoryPlanner.plan(
            textEncoder: UMT5EncoderModel(configuration: t5, weights: weights(UMT5EncoderModel.parameterShapes(t5))),
            projection: StableAudioProjectionModel(
                configuration: .stableAudioOpen1,
                weights: weights(StableAudioProjectionModel.parameterShapes(.stableAudioOpen1))),
            transformer: StableAudioDiTModel(
                configuration: .stableAudioOpen1,
                weights: weights(StableAudioDiTModel.parameterShapes(.stableAudioOpen1))),
            vae: AutoencoderOobleck(
                configuration: .stableAudioOpen,
                weights: weights(AutoencoderOobleck.parameterShapes(.stableAudioOpen))),
            promptTokens: 128, guidance: true, device: device, precision: precision)
    }

    /// Runs a short generation from an empty device and asserts the allocator's peak is the plan's, with the DiT and
    /// the VAE planned in `activations`.
    private func assertRunsAtItsPlannedPeak(
        _ pipeline: StableAudioPipeline, initialAudio: Bool, activations: DType, _ message: String,
        line: UInt = #line
    ) throws {
        let memory = device.memory
        memory.trim()
        let before = memory.liveBytes
        memory.resetPeak()
        let sound = StableAudioPipeline.Audio(channels: 1, sampleRate: 16, samples: (0..<40).map { sin(Float($0)) })
        let audio = try pipeline.generate(
            .init(prompt: "a red fox in the snow", steps: 2, guidanceScale: 3, seed: 1,
                  initialAudio: initialAudio ? sound : nil))
        let measured = memory.peakBytes - before
        XCTAssertTrue(audio.samples.allSatisfy(\.isFinite), message, line: line)
        let plan = try StableAudioMemoryPlanner.plan(
            textEncoder: pipeline.textEncoder, projection: pipeline.projection, transformer: pipeline.transformer,
            vae: pipeline.vae, promptTokens: pipeline.promptTokens, guidance: true, initialAudio: initialAudio,
            device: device, precision: pipeline.precision)
        XCTAssertEqual([plan.transformerActivations, plan.vaeActivations], [activations, activations], message,
                       line: line)
        XCTAssertEqual(measured, plan.peakBytes, message, line: line)
        print("Stable Audio tiny (\(message)): measured peak \(measured), planned "
            + "\(plan.stages.map { "\($0.stage) \($0.peakBytes)" })")
    }
}
