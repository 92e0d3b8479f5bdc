import Foundation
import KinoraFormats
@testable import KinoraModels
import KinoraTensor
import XCTest

/// Float8 checkpoints reach the GPU as float8 (one byte an element, the per-tensor scale attached) and the kernels
/// decode them. The tiny single-file fixtures are converted to float8 here: the UNet's and text encoders' weights to
/// e4m3fn with ComfyUI's `scale_weight` (`*_fp8_e4m3fn_scaled` files), their other matrices (SDXL's fused `in_proj`
/// and transposed `text_projection`) to unscaled e4m3fn, and every float tensor of the VAE, biases and norms
/// included, to unscaled e5m2 (a checkpoint cast to float8 whole). The same file expanded on the host by
/// `FP8ExpandingWeightStore`, written in F32, is the reference: it holds exactly the values the float8 file means.
final class StableDiffusionFloat8Tests: ModelTestCase {
    private struct Converted {
        var float8: URL
        var expanded: URL
    }

    /// The nearest float8 code to `value` among the finite codes up to `largest` (ties to the lower magnitude).
    private static func quantize(_ value: Float, largest: UInt8, decode: (UInt8) -> Float) -> UInt8 {
        let magnitude = value.magnitude
        var low: UInt8 = 0, high = largest
        while low < high {
            let middle = (low + high + 1) / 2
            if decode(middle) <= magnitude { low = middle } else { high = middle - 1 }
        }
        if low < largest && decode(low + 1) - magnitude < magnitude - decode(low) { low += 1 }
        return (value.sign == .minus ? 0x80 : 0) | low
    }

    /// Converts the single-file checkpoint at `source` as the class comment says; the scales are powers of two
    /// (the smallest at least max|w| / 448), so the F16 expansion is exact too.
    private func convert(_ source: URL, in folder: URL) throws -> Converted {
        let file = try SafetensorsFile(url: source)
        var writer = SafetensorsWriter()
        for name in file.tensorNames {
            let info = try file.info(name)
            let values = try file.floats(name)
            let isVAE = name.hasPrefix("first_stage_model.")
            guard info.dtype == .f32, isVAE || info.shape.count >= 2 else {
                try writer.add(name, dtype: info.dtype, shape: info.shape,
                               bytes: try file.withBytes(of: name) { Array($0) })
                continue
            }
            if isVAE {
                let bytes = values.map { Self.quantize($0, largest: 0x7B, decode: HalfPrecision.float(fromE5M2:)) }
                try writer.add(name, dtype: .f8E5M2, shape: info.shape, bytes: bytes)
                continue
            }
            var scale: Float = 1
            if name.hasSuffix(".weight") {
                let ratio = (values.map(\.magnitude).max() ?? 0) / 448
                scale = ratio > 0 ? Float(sign: .plus, exponent: ratio.exponent + 1, significand: 1) : 1
                try writer.add(String(name.dropLast("weight".count)) + "scale_weight", shape: [], floats: [scale])
            }
            let bytes = values.map {
                Self.quantize($0 / scale, largest: 0x7E, decode: HalfPrecision.float(fromE4M3:))
            }
            try writer.add(name, dtype: .f8E4M3, shape: info.shape, bytes: bytes)
        }
        try writer.add("scaled_fp8", dtype: .f8E4M3, shape: [0], bytes: [])
        let float8 = folder.appending(path: "float8.safetensors")
        try writer.write(to: float8)

        let hostExpanded = try FP8ExpandingWeightStore(base: WeightFile.open(float8))
        var reference = SafetensorsWriter()
        for name in hostExpanded.tensorNames {
            let info = try hostExpanded.info(name)
            try reference.add(name, shape: info.shape, floats: try hostExpanded.floats(name))
        }
        let expanded = folder.appending(path: "expanded.safetensors")
        try reference.write(to: expanded)
        return Converted(float8: float8, expanded: expanded)
    }

    private func pipeline(_ url: URL, configuration: String, tokenizer: String? = nil,
                          loras: [LoRAAdapter] = []) throws -> StableDiffusionPipeline {
        let options = SingleFileOptions(tokenizer: tokenizer.map { fixtureURL($0) },
                                        configuration: fixtureURL(configuration))
        let components = try StableDiffusionComponents(singleFile: url, options: options).applying(loras)
        // fp32 activations for both files: a float8 file would run bf16 by default, and these tests compare how
        // the weights are decoded, not the activations' rounding.
        return try StableDiffusionPipeline(components: components, device: device, precision: .fp32)
    }

    private func assertFloat8Generation(_ name: String, configuration: String, tokenizer: String? = nil,
                                        expected: String, line: UInt = #line) throws {
        let converted = try convert(singleFileFixture(name), in: makeTemporaryFolder(self))
        let settings = try GenerationSettings(fixture: fixture(expected))
        let float8 = try pipeline(converted.float8, configuration: configuration, tokenizer: tokenizer).run(settings)
        let reference = try pipeline(converted.expanded, configuration: configuration, tokenizer: tokenizer)
            .run(settings)
        XCTAssertEqual(float8.latents, reference.latents, "\(name): latents bit for bit", line: line)
        XCTAssertEqual(float8.image, reference.image, "\(name): image bit for bit", line: line)
        let quantization = relativeL2(float8.image, try fixture(expected).floats("image"))
        XCTAssertGreaterThan(quantization, 1e-3, "\(name): the float8 model is not the original one", line: line)
    }

    func testStableDiffusionFromAScaledFloat8FileGivesTheHostExpandedImageBitForBit() throws {
        try assertFloat8Generation("sd", configuration: "pipeline/sd", expected: "pipeline/expected.safetensors")
    }

    /// SDXL adds OpenCLIP's fused `in_proj` (sliced in place) and `text_projection` (transposed on the host) in float8.
    func testStableDiffusionXLFromAFloat8FileGivesTheHostExpandedImageBitForBit() throws {
        try assertFloat8Generation("sdxl", configuration: "pipeline/sdxl", tokenizer: "pipeline/sdxl/tokenizer",
                                   expected: "pipeline/expected-sdxl.safetensors")
    }

    func testFloat8WeightsTakeOneByteAnElementOnTheDeviceWithTheirScale() throws {
        let converted = try convert(singleFileFixture("sd"), in: makeTemporaryFolder(self))
        let checkpoint = try SingleFileCheckpoint(url: converted.float8)
        let reference = try SingleFileCheckpoint(url: converted.expanded)
        for (component, name, dtype) in [(ModelComponent.unet, "conv_in.weight", DType.f8e4m3fn),
                                          (.unet, "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.weight",
                                           .f8e4m3fn),
                                          (.vae, "decoder.conv_in.bias", .f8e5m2)] {
            let store = try checkpoint.store(component)
            let info = try store.info(name)
            let tensor = try DeviceWeights(store: store, device: device).tensor(name)
            XCTAssertEqual(tensor.dtype, dtype, name)
            XCTAssertEqual(tensor.byteCount, info.elementCount, "\(name): one byte an element")
            XCTAssertEqual(tensor.scale, info.scale ?? 1, name)
            XCTAssertEqual(try tensor.floats(), try reference.store(component).floats(name), name)
        }
        let unet = try checkpoint.store(.unet)
        let weights = DeviceWeights(store: unet, device: device)
        for name in unet.tensorNames { _ = try weights.tensor(name) }
        let float8Elements = try unet.tensorNames.filter { try unet.info($0).dtype.isFloat8 }
            .reduce(0) { $0 + (try unet.info($1).elementCount) }
        XCTAssertGreaterThan(float8Elements, 0)
        let fileBytes = try unet.tensorNames.reduce(0) { $0 + (try unet.info($1).byteCount) }
        XCTAssertEqual(weights.uploadedBytes, fileBytes, "the device holds the file's bytes")
        XCTAssertEqual(LoRAMerge.deviceBytes(of: unet, patches: [:]), fileBytes, "and plans count them so")
        let expandedUNet = try reference.store(.unet)
        XCTAssertEqual(try expandedUNet.tensorNames.reduce(0) { $0 + (try expandedUNet.info($1).byteCount) },
                       fileBytes + 3 * float8Elements, "F32 would take four bytes an element")
    }

    /// A LoRA merges into a float8 weight in f32 and stores it as F16 (rounding the sum back to three mantissa bits
    /// would lose the update), which plans count at two bytes an element.
    func testLoRAOnFloat8WeightsMergesIntoF16AndMatchesTheExpandedModel() throws {
        let converted = try convert(singleFileFixture("sd"), in: makeTemporaryFolder(self))
        let loras = [LoRAAdapter(url: fixtureURL("lora/sd-kohya.safetensors"), strength: 0.8)]
        var settings = try GenerationSettings(fixture: fixture("pipeline/expected.safetensors"))
        settings.steps = 2
        let float8 = try pipeline(converted.float8, configuration: "pipeline/sd", loras: loras)
        let merged = try float8.run(settings)
        let reference = try pipeline(converted.expanded, configuration: "pipeline/sd", loras: loras).run(settings)
        let unmerged = try pipeline(converted.float8, configuration: "pipeline/sd").run(settings)
        let error = relativeL2(merged.latents, reference.latents)
        // The merged weights are rounded to F16 once (2⁻¹¹ relative) where the reference keeps F32.
        XCTAssertLessThan(error, 1e-3)
        XCTAssertGreaterThan(relativeL2(unmerged.latents, reference.latents), 100 * error, "the LoRA took effect")

        let components = float8.components
        let weights = DeviceWeights(store: components.unetStore, device: device, patches: components.unetPatches)
        let patched = try XCTUnwrap(components.unetPatches.keys.sorted().first)
        XCTAssertTrue(try components.unetStore.info(patched).dtype.isFloat8, patched)
        XCTAssertEqual(try weights.tensor(patched).dtype, .f16, patched)
        for name in components.unetStore.tensorNames { _ = try weights.tensor(name) }
        XCTAssertEqual(weights.uploadedBytes,
                       LoRAMerge.deviceBytes(of: components.unetStore, patches: components.unetPatches))
        XCTAssertGreaterThan(weights.uploadedBytes, LoRAMerge.deviceBytes(of: components.unetStore, patches: [:]))
    }
}
