import Foundation
import XCTest

@testable import KinoraPipeline

/// The Wan video families of the catalog (`models/wan21-t2v-1.3b.yaml`, `wan22-ti2v-5b.yaml`, `tiny-wan21.yaml`,
/// `tiny-wan22.yaml`): their figures against the architectures' tensors, the plan's peaks they record against the
/// issue's targets, the tiny ones found where the fixtures are, and the video keys the reader checks.
final class WanVideoCatalogTests: XCTestCase {
    /// F16 bytes of the parameter counts in Tests/Fixtures/catalog/shapes.json (`CatalogLayoutTests`).
    func testWeightFiguresAreTheArchitecturesTensorBytes() throws {
        let catalog = try TestSupport.catalog()
        let umt5 = 2 * 5_680_910_336
        for (name, transformer, vae) in [
            ("wan21-t2v-1.3b", 2 * 1_418_996_800, 2 * 126_892_531),
            ("wan22-ti2v-5b", 2 * 4_999_787_712, 2 * 704_688_668),
        ] {
            let family = try XCTUnwrap(catalog.family(named: name))
            XCTAssertEqual(family.output, .video)
            XCTAssertEqual(family.components(.textEncoder).first?.weightBytes.bytes, UInt64(umt5), name)
            XCTAssertEqual(family.components(.denoiser).first?.weightBytes.bytes, UInt64(transformer), name)
            XCTAssertEqual(family.components(.decoder).first?.weightBytes.bytes, UInt64(vae), name)
            XCTAssertEqual(family.components(.textEncoder).first?.streamedWeightBytes?.bytes, 2 * 192_948_224, name)
            for component in family.components {
                XCTAssertFalse(component.activation.isEmpty, "\(name) \(component.name)")
                XCTAssertTrue(component.activation.values.allSatisfy { $0.basis == .measured }, "\(name)")
            }
        }
    }

    /// The whole-generation peaks the plan predicts at the default clips, with the text encoder streamed: Wan 2.1
    /// 1.3B at 832×480, 81 frames within 8 GB, Wan 2.2 5B at 1280×704, 121 frames within 16 GB.
    func testRecordedPeaksMeetTheTargets() throws {
        let catalog = try TestSupport.catalog()
        for (name, size, frames, target) in [
            ("wan21-t2v-1.3b", ImageSize(width: 832, height: 480), 81, 8_000_000_000.0),
            ("wan22-ti2v-5b", ImageSize(width: 1280, height: 704), 121, 16_000_000_000.0),
        ] {
            let family = try XCTUnwrap(catalog.family(named: name))
            XCTAssertEqual(family.defaults.size, size)
            XCTAssertEqual(family.defaults.frames, frames)
            let measured = try XCTUnwrap(family.measured.first)
            XCTAssertEqual(measured.size, size)
            XCTAssertEqual(measured.frames, frames)
            XCTAssertLessThanOrEqual(measured.peak.value, target, name)
            XCTAssertTrue(measured.accounting.contains("text encoder streamed"), measured.accounting)
            // No stage's figures alone exceed the recorded peak: the resident weights of the largest stage.
            XCTAssertGreaterThan(measured.peak.value, family.components(.denoiser)[0].weightBytes.value, name)
        }
        let wan21 = try XCTUnwrap(catalog.family(named: "wan21-t2v-1.3b")).defaults
        XCTAssertEqual([wan21.steps, wan21.cfg.map(Int.init), wan21.fps.map(Int.init)], [50, 5, 16])
        XCTAssertEqual(wan21.sampler, "unipc")
        XCTAssertEqual(wan21.shift, 3)
        let wan22 = try XCTUnwrap(catalog.family(named: "wan22-ti2v-5b")).defaults
        XCTAssertEqual([wan22.steps, wan22.cfg.map(Int.init), wan22.fps.map(Int.init)], [50, 5, 24])
        XCTAssertEqual(wan22.shift, 5)
    }

    /// The causal Wan 2.1 is the clip model's architecture; its recorded stream peaks meet the issue's targets at
    /// 832×480 for any length: ≤ 10 GB in LongLive's window, ≤ 8 GB in a shorter one, the text encoder streamed.
    func testTheCausalWanStreamsWithinTheTargets() throws {
        let catalog = try TestSupport.catalog()
        let causal = try XCTUnwrap(catalog.family(named: "wan21-causal-1.3b"))
        let clip = try XCTUnwrap(catalog.family(named: "wan21-t2v-1.3b"))
        XCTAssertEqual(causal.output, .video)
        for role in [ComponentRole.textEncoder, .denoiser, .decoder] {
            XCTAssertEqual(
                causal.components(role).first?.weightBytes.bytes, clip.components(role).first?.weightBytes.bytes)
        }
        XCTAssertEqual(causal.names, ["self_forcing_dmd.pt", "longlive_base.pt", "diffusion_models/self_forcing_dmd.pt",
                                      "diffusion_models/longlive_base.pt"])
        XCTAssertEqual(causal.base, "wan21-t2v-1.3b", "a single .pt takes the other parts from the clip model's folder")
        XCTAssertEqual(catalog.family(named: "tiny-wan21-causal")?.base, "tiny-wan21")
        XCTAssertEqual(causal.layouts.map(\.name).sorted(), ["diffusers", "single_file"])
        XCTAssertEqual(causal.defaults.steps, 4)
        let peaks = causal.measured.map { ($0.frames, $0.peak.value, $0.accounting) }
        XCTAssertEqual(peaks.map(\.0), [165, 9609, 9609])
        XCTAssertTrue(peaks.allSatisfy { $0.2.contains("text encoder streamed") })
        let longLive = try XCTUnwrap(peaks.first { $0.2.contains("window of\n12") || $0.2.contains("window of 12") })
        XCTAssertLessThanOrEqual(longLive.1, 10_000_000_000)
        XCTAssertLessThanOrEqual(try XCTUnwrap(peaks.map(\.1).min()), 8_000_000_000)
        XCTAssertTrue(peaks.allSatisfy { $0.1 > Double(clip.components(.denoiser)[0].weightBytes.value) })
    }

    func testNamesTheDiffusersFoldersAndComfyUIFiles() throws {
        let catalog = try TestSupport.catalog()
        let wan21 = try XCTUnwrap(catalog.family(named: "wan21-t2v-1.3b"))
        XCTAssertEqual(
            wan21.names, ["Wan2.1-T2V-1.3B-Diffusers", "diffusion_models/wan2.1_t2v_1.3B_fp16.safetensors"])
        XCTAssertEqual(
            wan21.components(.textEncoder).first?.files,
            ["umt5_xxl_fp16.safetensors", "umt5_xxl_fp8_e4m3fn_scaled.safetensors"])
        XCTAssertEqual(wan21.components(.decoder).first?.files, ["wan_2.1_vae.safetensors"])
        let wan22 = try XCTUnwrap(catalog.family(named: "wan22-ti2v-5b"))
        XCTAssertEqual(wan22.components(.denoiser).first?.files, ["wan2.2_ti2v_5B_fp16.safetensors"])
        XCTAssertEqual(wan22.components(.decoder).first?.folder, "vae")
        XCTAssertEqual(wan22.components(.decoder).first?.files, ["wan2.2_vae.safetensors"])
        XCTAssertEqual(wan22.layouts.map(\.name).sorted(), ["diffusers", "single_file"])
    }

    /// The tiny families are found where their fixtures are, as complete diffusers folders, and their weight figures
    /// are those files' sizes.
    func testTinyFamiliesAreTheCommittedFixtures() throws {
        let catalog = try TestSupport.catalog()
        let paths = ModelSearchPaths.standard(modelsDirs: [], environment: [:], bundled: TestSupport.catalogFolder)
        let locator = ModelLocator(catalog: catalog, searchPaths: paths, base: nil)
        for (name, folder) in [("tiny-wan21", "t2v"), ("tiny-wan22", "ti2v")] {
            let family = try XCTUnwrap(catalog.family(named: name))
            XCTAssertTrue(family.testOnly)
            let reference = ModelReference(
                name: name, source: .catalog(name), family: name,
                location: SourceLocation(file: "test", line: 1, column: 1))
            let located = try locator.locate(reference)
            XCTAssertEqual(located.url.standardizedFileURL.lastPathComponent, folder)
            XCTAssertEqual(located.layout.name, "diffusers")
            for (component, file) in [
                ("text_encoder", "text_encoder/model.safetensors"),
                ("transformer", "transformer/diffusion_pytorch_model.safetensors"),
                ("vae", "vae/diffusion_pytorch_model.safetensors"),
            ] {
                let size =
                    try FileManager.default.attributesOfItem(
                        atPath: located.url.appendingPathComponent(file).resolvingSymlinksInPath().path)[.size] as? Int
                XCTAssertEqual(
                    family.components.first { $0.name == component }?.weightBytes.bytes, size.map(UInt64.init),
                    "\(name) \(component)")
            }
        }
    }

    func testVideoKeysAreCheckedNamingLineAndField() {
        let video = """
            family: v
            description: x
            produces: video
            latent: {scale: 8, channels: 16, temporal_scale: 4}
            names: [v]
            defaults: {size: 832x480, frames: 80, fps: 16, shift: 3, sampler: unipc}
            layouts:
              diffusers: {files: [a.json]}
            components:
              text_encoder:
                role: text_encoder
                streamed_weight_bytes: {value: 1, basis: exact}
                weight_bytes: {value: 2, basis: exact}
            measured:
              - {size: 832x480, peak: {value: 3 GB, basis: estimate}, accounting: x}
            """
        XCTAssertThrowsError(try ModelCatalog.parse(video, file: "v.yaml")) { error in
            guard case CatalogError.invalid(let issues) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(issues.map(\.field), ["defaults", "measured[0].frames"], "\(issues)")
            XCTAssertEqual(issues.map(\.location.line), [6, 15], "\(issues)")
            XCTAssertTrue(issues[0].message.contains("frames 80 is not of the form 4k + 1"), "\(issues)")
        }
        let sampler = video.replacingOccurrences(
            of: "frames: 80, fps: 16, shift: 3, sampler: unipc",
            with: "frames: 81, sampler: dpmpp_2m"
        )
        .replacingOccurrences(of: "size: 832x480, peak", with: "size: 832x480, frames: 81, peak")
        XCTAssertThrowsError(try ModelCatalog.parse(sampler, file: "v.yaml")) { error in
            guard case CatalogError.invalid(let issues) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(issues.map(\.field), ["defaults.sampler"], "\(issues)")
            XCTAssertTrue(issues[0].message.contains("expected one of unipc, euler"), "\(issues)")
        }
        XCTAssertNoThrow(
            try ModelCatalog.parse(
                sampler.replacingOccurrences(of: "dpmpp_2m", with: "euler"), file: "v.yaml"))
        let image = """
            family: i
            description: x
            produces: image
            latent: {scale: 8, channels: 4, temporal_scale: 4}
            names: [i]
            defaults: {frames: 9, sampler: unipc}
            layouts:
              diffusers: {files: [a.json]}
            components:
              text_encoder:
                role: text_encoder
                streamed_weight_bytes: {value: 1, basis: exact}
                weight_bytes: {value: 2, basis: exact}
            """
        XCTAssertThrowsError(try ModelCatalog.parse(image, file: "i.yaml")) { error in
            guard case CatalogError.invalid(let issues) = error else { return XCTFail("\(error)") }
            let messages = issues.map(\.message).joined(separator: "\n")
            for expected in [
                "a latent temporal scale is for families that produce video",
                "frames is a video setting; this family does not produce video", "unknown value 'unipc'",
                "only a denoiser's weights (and a video family's text encoder's) can stream",
            ] {
                XCTAssertTrue(messages.contains(expected), "\(expected) in \(messages)")
            }
        }
    }

    /// A family's `base` must be a video family of the same latent space with a diffusers folder layout, and only a
    /// video family has one; each problem names the file and field.
    func testABaseMustBeAVideoFamilyOfTheSameLatentSpaceWithADiffusersFolder() throws {
        let folder = try TestSupport.temporaryFolder(self)
        for name in ["tiny-wan21", "tiny-wan22", "tiny-sd15"] {
            try FileManager.default.copyItem(at: TestSupport.catalogFolder.appendingPathComponent("\(name).yaml"),
                                             to: folder.appendingPathComponent("\(name).yaml"))
        }
        let causal = try String(contentsOf: TestSupport.catalogFolder.appendingPathComponent("tiny-wan21-causal.yaml"),
                                encoding: .utf8)
        let entry = folder.appendingPathComponent("tiny-wan21-causal.yaml")
        try causal.write(to: entry, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ModelCatalog.load(directory: folder).family(named: "tiny-wan21-causal")?.base, "tiny-wan21")
        for (base, message) in [
            ("tiny-wan22", "'tiny-wan22' has another latent space (scale 16, 8 channels)"),
            ("tiny-sd15", "'tiny-sd15' has no diffusers folder layout of a video model"),
            ("tiny-wan2", "no family 'tiny-wan2' (did you mean"),
        ] {
            try causal.replacingOccurrences(of: "base: tiny-wan21\n", with: "base: \(base)\n")
                .write(to: entry, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ModelCatalog.load(directory: folder), base) { error in
                guard case CatalogError.invalid(let issues) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(issues.map(\.field), ["base"], base)
                XCTAssertTrue(issues.first?.location.file.hasSuffix("/tiny-wan21-causal.yaml") == true, base)
                XCTAssertTrue(issues.first?.message.contains(message) == true, "\(issues)")
            }
        }
        let image = try String(contentsOf: TestSupport.catalogFolder.appendingPathComponent("tiny-sd15.yaml"),
                               encoding: .utf8)
            .replacingOccurrences(of: "produces: image\n", with: "produces: image\nbase: tiny-wan21\n")
        XCTAssertThrowsError(try ModelCatalog.parse(image, file: "tiny-sd15.yaml")) { error in
            guard case CatalogError.invalid(let issues) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(issues.map(\.field), ["base"])
            XCTAssertTrue(issues.first?.message.contains("is for families that produce video") == true, "\(issues)")
        }
    }
}
