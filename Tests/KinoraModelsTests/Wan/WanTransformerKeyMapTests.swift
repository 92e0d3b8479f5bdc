import Foundation
import KinoraFormats
import KinoraTestSupport
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Wan DiT weights in the layouts users have: diffusers folders, ComfyUI's repackaged single files (Wan's original
/// names under `model.diffusion_model.`), the configuration read off a file's shapes, and files of another family,
/// size or variant refused with the tensor and shapes named.
final class WanTransformerKeyMapTests: ModelTestCase {
    /// ComfyUI's file (original names, `model.diffusion_model.` prefix, fp16, written by the fixture script with
    /// torch) gives what the same fp16 weights under diffusers' names give, bit for bit; both are diffusers' fp32
    /// model on fp16-rounded weights.
    func testComfyUIFileGivesTheDiffusersNamedResult() throws {
        let fixture = try WanTransformerFixture(test: self)
        let comfyURL = fixture.folder.appending(path: "comfy.fp16.safetensors")
        let comfyFile = try SafetensorsFile(url: comfyURL)
        XCTAssertTrue(comfyFile.tensorNames.contains("model.diffusion_model.blocks.1.self_attn.norm_k.weight"))
        XCTAssertTrue(comfyFile.tensorNames.contains("model.diffusion_model.head.modulation"))
        let folder = try makeTemporaryFolder(self)
        let fp16 = try SafetensorsFile(url: fixture.write(to: folder.appending(path: "fp16.safetensors"), as: .f16))
        for name in fixture.store.tensorNames {
            let comfyName = "model.diffusion_model." + WanTrainingCheckpoint.originalName(name)
            XCTAssertEqual(
                try comfyFile.withBytes(of: comfyName) { [UInt8]($0) }, try fp16.withBytes(of: name) { [UInt8]($0) },
                "\(comfyName): torch's fp16 rounding and Kinora's agree")
        }
        XCTAssertEqual(comfyFile.tensorNames.count, fixture.store.tensorNames.count)

        let comfy = try WanTransformer3DModel(file: comfyURL, device: device, configuration: fixture.configuration)
        let actual = try fixture.predict(comfy, self, timestep: fixture.timestep)
        let diffusersNamed = try fixture.predict(fixture.model(self, store: fp16), self, timestep: fixture.timestep)
        XCTAssertEqual(actual, diffusersNamed)
        assertClose(
            actual, try fixture.values("sample.fp16_weights"),
            tolerance: WanTransformer3DModelTests.roundedWeightsTolerance, "ComfyUI fp16 file")
    }

    /// Wan's original layout without a prefix (the Wan-AI repositories' own files) and a diffusers file under a
    /// prefix read as the fixture does.
    func testOriginalLayoutAndPrefixedDiffusersFilesGiveTheSameResult() throws {
        let fixture = try WanTransformerFixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let reference = try fixture.predict(fixture.model(self), self, timestep: fixture.timestep)
        let original = try fixture.write(
            to: folder.appending(path: "wan.safetensors"), rename: WanTrainingCheckpoint.originalName)
        let prefixed = try fixture.write(to: folder.appending(path: "prefixed.safetensors")) { "transformer.\($0)" }
        for url in [original, prefixed] {
            let model = try WanTransformer3DModel(file: url, device: device, configuration: fixture.configuration)
            XCTAssertEqual(
                try fixture.predict(model, self, timestep: fixture.timestep), reference, url.lastPathComponent)
        }
        XCTAssertEqual(WanTransformerKeyMap.diffusers(original: "blocks.29.norm3.bias"), "blocks.29.norm2.bias")
        XCTAssertEqual(
            WanTransformerKeyMap.diffusers(original: "blocks.3.ffn.0.weight"), "blocks.3.ffn.net.0.proj.weight")
        XCTAssertEqual(
            WanTransformerKeyMap.diffusers(original: "blocks.0.cross_attn.o.bias"), "blocks.0.attn2.to_out.0.bias")
        XCTAssertEqual(WanTransformerKeyMap.diffusers(original: "blocks.7.modulation"), "blocks.7.scale_shift_table")
        XCTAssertNil(WanTransformerKeyMap.diffusers(original: "blocks.0.norm2.weight"))
        XCTAssertNil(WanTransformerKeyMap.diffusers(original: "blocks.0.self_attn.x.weight"))
    }

    /// The released models' configurations come back from their files' shapes, in Wan's original names (as ComfyUI
    /// ships them), over random weights that are never read.
    func testReleasedConfigurationsAreInferredFromShapes() throws {
        for (configuration, name) in [
            (WanTransformer3DConfig.wan21T2V1_3B, "wan2.1_t2v_1.3B_fp16.safetensors"),
            (.wan22TI2V5B, "wan2.2_ti2v_5B_fp16.safetensors"),
        ] {
            let shapes = Dictionary(
                uniqueKeysWithValues: WanTransformer3DModel.parameterShapes(configuration).map {
                    ("model.diffusion_model." + WanTrainingCheckpoint.originalName($0.name), $0.shape)
                })
            let store = try WanTransformerKeyMap.diffusersNames(RandomWeightStore(shapes: shapes, sourceName: name))
            XCTAssertEqual(
                Set(store.tensorNames), Set(WanTransformer3DModel.parameterShapes(configuration).map(\.name)), name)
            XCTAssertEqual(try WanTransformer3DConfig.inferred(from: store), configuration, name)
            // Every shape checks against the configuration (nothing is uploaded).
            let model = try WanTransformer3DModel(
                configuration: configuration, weights: DeviceWeights(store: store, device: device))
            XCTAssertEqual(model.weights.uploadedBytes, 0)
        }
    }

    func testConfigurationDecodesDiffusersConfigFiles() throws {
        let folder = try makeTemporaryFolder(self)
        let url = folder.appending(path: "config.json")
        try Data(#"{"_class_name": "WanTransformer3DModel", "in_channels": 36, "out_channels": null}"#.utf8)
            .write(to: url)
        let configuration = try WanTransformer3DConfig.load(from: url)
        XCTAssertEqual(configuration.outChannels, 36, "diffusers: out_channels or in_channels")
        XCTAssertEqual(configuration.numAttentionHeads, 40)
        XCTAssertEqual(configuration.patchSize, [1, 2, 2])

        try Data(#"{"image_dim": 1280, "added_kv_proj_dim": 5120, "in_channels": 36}"#.utf8).write(to: url)
        XCTAssertThrowsError(try WanTransformer3DConfig.load(from: url)) {
            XCTAssertTrue("\($0)".contains("image_dim 1280: the image-conditioned Wan 2.1 I2V"), "\($0)")
        }
        try Data(#"{"attention_head_dim": 127}"#.utf8).write(to: url)
        XCTAssertThrowsError(try WanTransformer3DConfig.load(from: url)) {
            XCTAssertTrue("\($0)".contains("attention_head_dim 127 must be even"), "\($0)")
        }
        try Data(#"{"patch_size": [2, 2]}"#.utf8).write(to: url)
        XCTAssertThrowsError(try WanTransformer3DConfig.load(from: url)) {
            XCTAssertTrue("\($0)".contains("patch_size must be three positive sizes (t, h, w), got [2, 2]"), "\($0)")
        }
    }

    func testFilesOfAnotherFamilySizeOrVariantAreRefusedByName() throws {
        let fixture = try WanTransformerFixture(test: self)
        let folder = try makeTemporaryFolder(self)

        // Another family entirely.
        let umt5 = fixtureURL("umt5/model.safetensors")
        XCTAssertThrowsError(try WanTransformer3DModel(file: umt5, device: device)) {
            XCTAssertTrue(
                "\($0)".contains(
                    "no Wan transformer in it: found neither 'condition_embedder.time_proj.weight' (diffusers) nor "
                        + "'time_projection.1.weight'"), "\($0)")
        }

        // The 1.3B configuration over the tiny file: the first tensor that differs, with both shapes.
        XCTAssertThrowsError(
            try WanTransformer3DModel(
                configuration: .wan21T2V1_3B, weights: DeviceWeights(store: fixture.store, device: device))
        ) { error in
            XCTAssertEqual(
                error as? WanTransformerError,
                .weightsMismatch(
                    file: fixture.store.sourceName, tensor: "patch_embedding.weight",
                    reason: "expected shape [1536, 16, 1, 2, 2] for dim 1536 (12 heads of 128), ffn_dim 8960, 16 → "
                        + "16 channels, patch [1, 2, 2], text_dim 4096, freq_dim 256; found [40, 4, 1, 2, 2]"))
        }

        // One tensor of another size in a ComfyUI file: named by its key in the file and its diffusers name.
        let query = "model.diffusion_model.blocks.1.self_attn.q.weight"
        var writer = SafetensorsWriter()
        for name in fixture.store.tensorNames {
            let original = "model.diffusion_model." + WanTrainingCheckpoint.originalName(name)
            let shape = original == query ? [40, 39] : try fixture.store.info(name).shape
            try writer.add(
                original, shape: shape, floats: Array(try fixture.store.floats(name).prefix(shape.reduce(1, *))),
                as: .f16)
        }
        let resized = folder.appending(path: "resized.safetensors")
        try writer.write(to: resized)
        XCTAssertThrowsError(
            try WanTransformer3DModel(file: resized, device: device, configuration: fixture.configuration)
        ) { error in
            guard case .weightsMismatch(_, let tensor, let reason) = error as? WanTransformerError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(tensor, "\(query) (blocks.1.attn1.to_q.weight)")
            XCTAssertTrue(reason.hasPrefix("expected shape [40, 40] for dim 40 (2 heads of 20)"), reason)
            XCTAssertTrue(reason.hasSuffix("found [40, 39]"), reason)
        }

        // More layers than the configuration has.
        var oneLayer = fixture.configuration
        oneLayer.numLayers = 1
        XCTAssertThrowsError(
            try WanTransformer3DModel(
                configuration: oneLayer, weights: DeviceWeights(store: fixture.store, device: device))
        ) { XCTAssertTrue("\($0)".contains("the file has more layers than num_layers 1"), "\($0)") }

        // A missing tensor.
        let missing = try fixture.write(to: folder.appending(path: "missing.safetensors")) {
            $0 == "blocks.0.attn2.norm_k.weight" ? "unused.weight" : $0
        }
        XCTAssertThrowsError(
            try WanTransformer3DModel(file: missing, device: device, configuration: fixture.configuration)
        ) { XCTAssertTrue("\($0)".contains("blocks.0.attn2.norm_k.weight"), "\($0)") }

        // Wan variants with tensors the text-to-video DiT has no place for: VACE's extra blocks, I2V's image branch.
        for (extra, message) in [
            (
                "vace_blocks.0.after_proj.weight",
                "tensors with no place in a Wan text-to-video transformer: "
                    + "'model.diffusion_model.vace_blocks.0.after_proj.weight'"
            ),
            (
                "blocks.0.cross_attn.k_img.weight",
                "'blocks.0.attn2.add_k_proj.weight': the image-conditioned Wan 2.1 "
                    + "I2V / FLF2V transformers (CLIP image embeddings) are not supported"
            ),
        ] {
            var writer = SafetensorsWriter()
            for name in fixture.store.tensorNames {
                try writer.add(
                    "model.diffusion_model." + WanTrainingCheckpoint.originalName(name),
                    shape: try fixture.store.info(name).shape, floats: try fixture.store.floats(name), as: .f16)
            }
            try writer.add(
                "model.diffusion_model." + extra, shape: [40, 40], floats: [Float](repeating: 0, count: 1600))
            let url = folder.appending(path: "variant.safetensors")
            try writer.write(to: url)
            XCTAssertThrowsError(try WanTransformer3DModel(file: url, device: device)) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
    }
}
