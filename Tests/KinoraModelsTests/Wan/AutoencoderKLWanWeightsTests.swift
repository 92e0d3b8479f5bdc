import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Loading a Wan VAE from the files users have: a diffusers `vae/` folder, ComfyUI's single files (the original Wan
/// names, configuration read off the shapes), half-precision weights, and files that are not the VAE they claim.
final class AutoencoderKLWanWeightsTests: ModelTestCase {
    private func decode(_ vae: AutoencoderKLWan, _ fixture: AutoencoderKLWanFixture) throws -> [Float] {
        let graph = makeGraph()
        return try graph.run([vae.decode(graph, graph.input(fixture.tensor("latents", on: device)))])[0].floats()
    }

    /// The fixture's `config.json` beside an F32 copy of its weights, as a diffusers folder.
    private func folder(_ fixture: AutoencoderKLWanFixture) throws -> URL {
        let weights = try fixture.store(test: self, file: "diffusion_pytorch_model.safetensors")
        let folder = weights.deletingLastPathComponent()
        try FileManager.default.copyItem(
            at: fixture.folder.appending(path: "config.json"),
            to: folder.appending(path: "config.json"))
        return folder
    }

    func testDiffusersFolderLoadsItsConfiguration() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let vae = try AutoencoderKLWan(folder: folder(fixture), device: device)
            XCTAssertEqual(vae.configuration, fixture.configuration)
            XCTAssertEqual(vae.configuration.isResidual, name == "wan22")
            XCTAssertEqual(vae.configuration.spatialCompression, name == "wan22" ? 16 : 8)
            assertClose(try decode(vae, fixture), try fixture.values("decoded"), tolerance: 1e-4, name)
        }
    }

    /// The committed F16 file holds fp16-exact values, so F16 weights must give the F32 result (the f16 kernel
    /// variants read them exactly); BF16 rounds them (2⁻⁸ relative), and the output may move as far as diffusers'
    /// own output moves with bf16-rounded weights (the fixture's `bf16_relative_l2`), with a factor 2 of margin.
    func testHalfPrecisionWeights() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let expected = try fixture.values("decoded")
            let half = try fixture.model(self, store: fixture.halfStore)
            XCTAssertEqual(try fixture.halfStore.info("decoder.conv_in.weight").dtype, .f16)
            let halfOutput = try decode(half, fixture)
            assertClose(halfOutput, expected, tolerance: AutoencoderKLWanTests.fp32Tolerance, "\(name) f16")
            let f32Output = try decode(fixture.model(self), fixture)
            XCTAssertLessThan(relativeL2(halfOutput, f32Output), 1e-6, "\(name) f16 against f32")

            let bf16Store = try SafetensorsFile(url: fixture.store(.bf16, test: self))
            let bf16Output = try decode(fixture.model(self, store: bf16Store), fixture)
            let torchError = try XCTUnwrap(fixture.expected.metadata["bf16_relative_l2"].flatMap(Double.init))
            let error = relativeL2(bf16Output, expected)
            XCTAssertLessThanOrEqual(error, 2 * torchError, "\(name) bf16")
            XCTAssertGreaterThan(error, 1e-4, "\(name): bf16 rounding shows")
            print(
                "\(name) weights: f16 relative L2 \(relativeL2(halfOutput, expected)) (f16 against f32 "
                    + "\(relativeL2(halfOutput, f32Output))); bf16 \(error), diffusers itself with bf16-rounded weights "
                    + "\(torchError)")
        }
    }

    /// ComfyUI's `wan_2.1_vae.safetensors` / `wan2.2_vae.safetensors` use the original Wan names
    /// (`comfy_names.json`, checked by the fixture script against diffusers' converter): the single file maps back
    /// to diffusers' names and its configuration is read off the shapes; a prefix in front of every name is dropped.
    func testComfyUISingleFileMapsToDiffusersNamesAndInfersItsConfiguration() throws {
        for name in ["wan21", "wan22"] {
            let fixture = try AutoencoderKLWanFixture(name, test: self)
            let names = try JSONDecoder().decode(
                [String: String].self, from: Data(contentsOf: fixture.folder.appending(path: "comfy_names.json")))
            XCTAssertEqual(Set(names.keys), Set(fixture.halfStore.tensorNames))
            let reference = try decode(fixture.model(self), fixture)
            for prefix in ["", "first_stage_model."] {
                let file = try fixture.store(.f16, test: self, file: "\(name)_comfy.safetensors") {
                    prefix + names[$0]!
                }
                let vae = try AutoencoderKLWan(file: file, device: device)
                var expected = fixture.configuration
                // A single file does not record the latent statistics; only Wan's 16 and 48 channels get defaults.
                expected.latentsMean = []
                expected.latentsStd = []
                XCTAssertEqual(vae.configuration, expected, "\(name) \(prefix)")
                XCTAssertEqual(try decode(vae, fixture), reference, "\(name) \(prefix)")
            }
        }
    }

    /// The original layout's renames on the real models' key patterns.
    func testOriginalNamesOfTheRealLayouts() {
        let wan21 = WanVAEKeyMap.OriginalLayout(keys: [
            "decoder.upsamples.3.resample.1.weight", "decoder.upsamples.7.time_conv.weight",
            "decoder.upsamples.11.resample.1.weight",
        ])
        XCTAssertEqual(
            wan21.diffusers("decoder.upsamples.4.shortcut.weight"),
            "decoder.up_blocks.1.resnets.0.conv_shortcut.weight")
        XCTAssertEqual(
            wan21.diffusers("decoder.upsamples.14.residual.6.bias"),
            "decoder.up_blocks.3.resnets.2.conv2.bias")
        XCTAssertEqual(
            wan21.diffusers("decoder.upsamples.7.time_conv.weight"),
            "decoder.up_blocks.1.upsamplers.0.time_conv.weight")
        XCTAssertEqual(
            wan21.diffusers("encoder.downsamples.5.resample.1.bias"), "encoder.down_blocks.5.resample.1.bias")
        XCTAssertEqual(wan21.diffusers("encoder.downsamples.4.residual.3.gamma"), "encoder.down_blocks.4.norm2.gamma")
        XCTAssertEqual(wan21.diffusers("conv2.weight"), "post_quant_conv.weight")
        XCTAssertEqual(wan21.diffusers("encoder.conv1.bias"), "encoder.conv_in.bias")
        XCTAssertEqual(
            wan21.diffusers("decoder.middle.1.to_qkv.weight"), "decoder.mid_block.attentions.0.to_qkv.weight")
        XCTAssertEqual(wan21.diffusers("encoder.head.0.gamma"), "encoder.norm_out.gamma")
        XCTAssertNil(wan21.diffusers("decoder.upsamples.4.residual.1.weight"))
        let wan22 = WanVAEKeyMap.OriginalLayout(keys: ["decoder.upsamples.0.upsamples.0.residual.2.weight"])
        XCTAssertEqual(
            wan22.diffusers("decoder.upsamples.1.upsamples.3.resample.1.weight"),
            "decoder.up_blocks.1.upsampler.resample.1.weight")
        XCTAssertEqual(
            wan22.diffusers("encoder.downsamples.2.downsamples.1.shortcut.bias"),
            "encoder.down_blocks.2.resnets.1.conv_shortcut.bias")
        XCTAssertEqual(
            wan22.diffusers("encoder.downsamples.0.downsamples.2.time_conv.weight"),
            "encoder.down_blocks.0.downsampler.time_conv.weight")
    }

    /// The real models' configurations come back from their shapes (over random weights: only the names and
    /// shapes matter), latent statistics included.
    func testRealConfigurationsAreInferredFromTheirShapes() throws {
        for configuration in [AutoencoderKLWanConfig.wan21, .wan22] {
            let shapes = Dictionary(
                uniqueKeysWithValues: AutoencoderKLWan.parameterShapes(configuration)
                    .map { ($0.name, $0.shape) })
            let inferred = try AutoencoderKLWanConfig.inferred(from: RandomWeightStore(shapes: shapes, sourceName: "r"))
            XCTAssertEqual(inferred, configuration)
        }
        XCTAssertEqual(AutoencoderKLWanConfig.wan22.spatialCompression, 16)
        XCTAssertEqual(AutoencoderKLWanConfig.wan21.temporalCompression, 4)
        // Parameter counts of the real VAEs (Wan 2.1: 126.9 M, anchors-video.md §1.3).
        let count = { (c: AutoencoderKLWanConfig) in
            AutoencoderKLWan.parameterShapes(c).reduce(0) { $0 + $1.shape.reduce(1, *) }
        }
        XCTAssertEqual(Double(count(.wan21)) / 1e6, 126.9, accuracy: 0.05)
        print("parameters: Wan 2.1 VAE \(count(.wan21)), Wan 2.2 VAE \(count(.wan22))")
    }

    /// A file that is not this VAE is refused before anything runs, naming the tensor and the shapes.
    func testWrongFilesAreRefusedNamingTheTensor() throws {
        let wan21 = try AutoencoderKLWanFixture("wan21", test: self)
        let wan22 = try AutoencoderKLWanFixture("wan22", test: self)
        func refuse(
            _ body: () throws -> AutoencoderKLWan, _ fragments: [String], file: StaticString = #filePath,
            line: UInt = #line
        ) {
            XCTAssertThrowsError(try body(), file: file, line: line) { error in
                for fragment in fragments {
                    XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", file: file, line: line)
                }
            }
        }
        // The Wan 2.1 weights under the Wan 2.2 configuration.
        refuse(
            { try wan22.model(self, store: wan21.halfStore) },
            [
                "encoder.conv_in.weight", "[4, 12, 3, 3, 3]",
                "[4, 3, 3, 3, 3]",
            ])
        // A tensor missing.
        let missing = try SafetensorsFile(
            url: wan21.store(test: self, file: "bad.safetensors") {
                $0 == "decoder.up_blocks.1.resnets.0.conv_shortcut.weight" ? nil : $0
            })
        refuse(
            { try wan21.model(self, store: missing) },
            [
                "decoder.up_blocks.1.resnets.0.conv_shortcut.weight",
                "missing", "[8, 4, 1, 1, 1]",
            ])
        // A tensor the configuration has no place for (a fifth level).
        var writer = SafetensorsWriter()
        for name in wan21.halfStore.tensorNames {
            try writer.add(name, shape: try wan21.halfStore.info(name).shape, floats: try wan21.halfStore.floats(name))
        }
        try writer.add("decoder.up_blocks.4.resnets.0.norm1.gamma", shape: [4, 1, 1, 1], floats: [1, 1, 1, 1])
        let extra = try makeTemporaryFolder(self).appending(path: "extra.safetensors")
        try writer.write(to: extra)
        refuse(
            { try wan21.model(self, store: SafetensorsFile(url: extra)) },
            [
                "decoder.up_blocks.4.resnets.0.norm1.gamma",
                "[4, 1, 1, 1]", "no place",
            ])
        // Another model's file altogether.
        refuse(
            { try AutoencoderKLWan(file: self.fixtureURL("umt5/model.safetensors"), device: self.device) },
            ["no Wan VAE in it", "decoder.mid_block.resnets.0.norm1.gamma", "decoder.middle.0.residual.0.gamma"])
    }

    func testConfigurationFilesAreChecked() throws {
        let folder = try makeTemporaryFolder(self)
        func load(_ json: String) throws -> AutoencoderKLWanConfig {
            let url = folder.appending(path: "config.json")
            try Data(json.utf8).write(to: url)
            return try AutoencoderKLWanConfig.load(from: url)
        }
        XCTAssertEqual(try load("{}"), .wan21)
        XCTAssertEqual(try load(#"{"patch_size": null, "decoder_base_dim": null}"#), .wan21)
        for (json, fragment) in [
            (#"{"z_dim": "x"}"#, "z_dim"),
            (#"{"scale_factor_spatial": 16}"#, "scale_factor_spatial 16"),
            (#"{"temperal_downsample": [true]}"#, "temperal_downsample"),
            (#"{"attn_scales": [0.5]}"#, "attn_scales"),
            (#"{"z_dim": 8}"#, "latents_mean"),
            (#"{"is_residual": true, "base_dim": 96, "dim_mult": [1, 3, 4, 4]}"#, "AvgDown3D"),
        ] {
            XCTAssertThrowsError(try load(json), json) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)")
                XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
            }
        }
    }
}
