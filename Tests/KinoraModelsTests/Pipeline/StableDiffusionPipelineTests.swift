import Foundation
import KinoraGPU
import KinoraModels
import XCTest

final class StableDiffusionPipelineTests: ModelTestCase {
    func testStableDiffusionFourStepImageMatchesDiffusersForTheSameSeed() throws {
        let expected = try fixture("pipeline/expected.safetensors")
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        XCTAssertEqual(pipeline.family, .stableDiffusion)
        var steps: [Int] = []
        let image = try pipeline.generate(try GenerationSettings(fixture: expected)) { steps.append($0.step) }
        XCTAssertEqual(steps, [1, 2, 3, 4])
        assertClose(image, try expected.floats("image"), tolerance: 1e-3, "decoded image")
    }

    func testStableDiffusionXLFourStepImageMatchesDiffusersWithZeroedEmptyNegative() throws {
        let expected = try fixture("pipeline/expected-sdxl.safetensors")
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sdxl"), device: device)
        XCTAssertEqual(pipeline.family, .stableDiffusionXL)
        let image = try pipeline.generate(try GenerationSettings(fixture: expected))
        assertClose(image, try expected.floats("image"), tolerance: 1e-3, "decoded SDXL image")
    }

    func testStableDiffusionImageToImageMatchesDiffusersImg2ImgPipeline() throws {
        let expected = try fixture("pipeline/expected.safetensors")
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        var settings = try GenerationSettings(fixture: expected)
        settings.strength = try XCTUnwrap(Double(expected.metadata["strength"] ?? ""))
        var steps = 0
        let image = try pipeline.generate(settings, initImage: try expected.floats("init_image")) { _ in steps += 1 }
        XCTAssertEqual(steps, 3, "strength 0.75 of 4 steps runs the last 3")
        assertClose(image, try expected.floats("img2img_image"), tolerance: 1e-3, "img2img image")
    }

    func testStableDiffusionA1111LongPromptsSpanSeveralWindowsAndWeightsChangeTheirTokens() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let long = Array(repeating: "a red fox", count: 40).joined(separator: " ")
        let longShape = try pipeline.textConditioning(long, syntax: .a1111).hiddenStates.shape
        XCTAssertTrue(longShape[1] > 77 && longShape[1] % 77 == 0, "\(longShape)")
        XCTAssertEqual(try pipeline.textConditioning("a fox BREAK in snow", syntax: .a1111).hiddenStates.shape,
                       [1, 154, 32])

        let plain = try pipeline.textConditioning("a red fox", syntax: .a1111).hiddenStates.floats()
        XCTAssertEqual(try pipeline.textConditioning("a (red:1.0) fox", syntax: .a1111).hiddenStates.floats(), plain)
        let weighted = try pipeline.textConditioning("a (red:1.5) fox", syntax: .a1111).hiddenStates.floats()
        XCTAssertNotEqual(weighted, plain)
        let mean = { (values: [Float]) in values.reduce(0.0) { $0 + Double($1) } / Double(values.count) }
        XCTAssertEqual(mean(weighted), mean(plain), accuracy: 1e-5, "emphasis keeps the window's mean")
        // Only the weighted token's row (position 2: BOS, "a", "red") changes beyond the rescaling.
        let width = 32
        let ratio = { (row: Int) in
            (row * width..<(row + 1) * width).reduce(0.0) { $0 + abs(Double(weighted[$1])) }
                / (row * width..<(row + 1) * width).reduce(0.0) { $0 + abs(Double(plain[$1])) }
        }
        XCTAssertGreaterThan(ratio(2) / ratio(1), 1.4)
    }

    func testStableDiffusionPlainPromptsAreOneWindowReadLiterally() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        let long = Array(repeating: "a red fox", count: 40).joined(separator: " ")
        XCTAssertEqual(try pipeline.textConditioning(long, syntax: .plain).hiddenStates.shape, [1, 77, 32])
        XCTAssertEqual(try pipeline.textConditioning("a fox BREAK in snow", syntax: .plain).hiddenStates.shape,
                       [1, 77, 32])
        let literal = try pipeline.textConditioning("a robot (v2.0)", syntax: .plain).hiddenStates.floats()
        XCTAssertNotEqual(try pipeline.textConditioning("a robot (v2.0)", syntax: .a1111).hiddenStates.floats(),
                          literal)
        var settings = GenerationSettings(prompt: long)
        settings.negativePrompt = "blurry"
        XCTAssertEqual(pipeline.droppedPromptTokens(settings).negative, 0)
        XCTAssertGreaterThan(pipeline.droppedPromptTokens(settings).prompt, 0)
    }

    func testStableDiffusionRejectsSizesThatAreNotMultiplesOfTheLatentScale() throws {
        let pipeline = try StableDiffusionPipeline(folder: fixtureURL("pipeline/sd"), device: device)
        var settings = GenerationSettings(prompt: "x")
        settings.width = 21
        settings.height = 16
        XCTAssertThrowsError(try pipeline.generate(settings)) { error in
            XCTAssertEqual(error as? PipelineError, .invalidSize(width: 21, height: 16, multiple: 2))
        }
    }

    func testAFolderWithoutModelIndexIsRejectedClearly() {
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: fixtureURL("clip"), device: device)) { error in
            XCTAssertTrue("\(error)".contains("not a diffusers model folder"), "\(error)")
        }
    }
}
