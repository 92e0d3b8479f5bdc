import XCTest

@testable import KinoraPipeline

final class ModelCatalogTests: XCTestCase {
    func testShippedCatalogHasEveryFamily() throws {
        let catalog = try TestSupport.catalog()
        XCTAssertEqual(catalog.families.map(\.name), [
            "musicgen-small", "piper-vits", "realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime",
            "rife", "sd15", "sd2", "sdxl", "stable-audio-open-1.0", "tiny-musicgen", "tiny-sd15", "tiny-sdxl",
            "tiny-stable-audio", "tiny-wan21", "tiny-wan21-causal", "tiny-wan22", "wan21-causal-1.3b", "wan21-t2v-1.3b",
            "wan22-ti2v-5b",
        ])
        XCTAssertTrue(try XCTUnwrap(catalog.family(named: "tiny-sd15")).testOnly)
        XCTAssertEqual(catalog.family(named: "piper-vits")?.output, .speech)
        XCTAssertEqual(catalog.family(named: "stable-audio-open-1.0")?.components(.music).count, 1)
        XCTAssertEqual(catalog.family(named: "sdxl")?.components(.textEncoder).count, 2)
    }

    func testWeightFiguresAreTheArchitecturesTensorBytes() throws {
        let catalog = try TestSupport.catalog()
        let sd15 = try XCTUnwrap(catalog.family(named: "sd15"))
        // F16 bytes of the parameter counts in Tests/Fixtures/catalog/shapes.json.
        XCTAssertEqual(sd15.components(.denoiser).first?.weightBytes.bytes, 2 * 859_520_964)
        XCTAssertEqual(sd15.weightBytes, 2 * (123_060_480 + 859_520_964 + 83_653_863))
        let sdxl = try XCTUnwrap(catalog.family(named: "sdxl"))
        XCTAssertEqual(sdxl.weightBytes, 2 * (123_060_480 + 694_659_840 + 2_567_463_684 + 83_653_863))
        XCTAssertEqual(sdxl.components(.denoiser).first?.weightBytes.basis, .exact)
        XCTAssertEqual(sdxl.components(.decoder).first?.activation["per_pixel"]?.basis, .measured)
    }

    /// The planner's figures, accounted as the measurement was (every weight resident, the peak stage's
    /// activations on top), must cover each measured peak and stay within 10 % of it: the decoder's per-pixel figure
    /// also covers tiled decodes, which hold every decoded tile until they are blended (the planner's tiled formula
    /// counts one tile and the image), so untiled decodes are predicted up to 9 % high.
    func testFiguresReproduceTheMeasuredPeaks() throws {
        let catalog = try TestSupport.catalog()
        var checked = 0
        // The video families' peaks are their plans' (WanVideoCatalogTests checks them).
        for family in catalog.families where family.output == .image {
            for measured in family.measured {
                let identity = ModelIdentity(name: family.name, family: family.name, component: "", fingerprint: "",
                                             precision: "f16")
                let size = measured.size
                let guided = StageParameters(["width": .int(size.width), "height": .int(size.height),
                                              "cfg": .number(7.5), "steps": .int(1)])
                // "decode tiled with 64-latent tiles": the tile the measurement used.
                let tile = measured.accounting.components(separatedBy: "decode tiled with ").dropFirst().first
                    .flatMap { Int($0.prefix { $0.isNumber }) }
                var peaks: [UInt64] = []
                for role in [ComponentRole.denoiser, .decoder] {
                    let model = try XCTUnwrap(CatalogStageModel(family: family, role: role, identity: identity))
                    let stage = Stage(id: "s", kind: role == .denoiser ? .denoise : .decode, parameters: guided)
                    let tactic = role == .denoiser ? Tactic(guidance: .batched)
                        : Tactic(tileLatentSize: tile)
                    peaks.append(model.activationBytes(for: [stage], tactic: tactic))
                }
                let predicted = Double(family.weightBytes + (peaks.max() ?? 0))
                let ratio = predicted / measured.peak.value
                XCTAssertGreaterThanOrEqual(ratio, 1, "\(family.name) \(measured.accounting)")
                XCTAssertLessThanOrEqual(ratio, 1.10, "\(family.name) \(measured.accounting)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 3)
    }

    func testBrokenEntriesReportFileLineAndField() {
        let text = """
            family: broken
            description: x
            produces: pictures
            names: [broken]
            layouts:
              diffusers: {files: [a.json]}
            components:
              unet:
                role: denoiser
                weight_bytes: {value: lots, basis: exact}
            """
        XCTAssertThrowsError(try ModelCatalog.parse(text, file: "broken.yaml")) { error in
            guard case CatalogError.invalid(let issues) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(issues.map(\.field), ["produces", "components.unet.weight_bytes.value"])
            XCTAssertEqual(issues.map(\.location.line), [3, 10])
        }
    }

    /// An activation figure may give its value with 16-bit activations (`half`), never above the f32 one; no other
    /// figure may.
    func testHalfValuesBelongToActivationFiguresAndNeverExceedTheirValue() throws {
        func parse(_ figures: String) throws -> KinoraPipeline.ModelFamily {
            try ModelCatalog.parse("""
                family: halves
                description: x
                produces: image
                names: [halves]
                layouts:
                  diffusers: {files: [a.json]}
                components:
                  unet:
                    role: denoiser
                \(figures)
                """, file: "halves.yaml")
        }
        let family = try parse("""
                weight_bytes: {value: 10, basis: exact}
                activation_per_latent_pixel: {value: 100, half: 52, basis: measured}
                activation_per_token: {value: 7, basis: measured}
            """)
        let unet = try XCTUnwrap(family.components.first)
        XCTAssertEqual(unet.activation["per_latent_pixel"]?.half, 52)
        XCTAssertEqual(unet.activation["per_latent_pixel"]?.value(halfActivations: true), 52)
        XCTAssertEqual(unet.activation["per_latent_pixel"]?.value(halfActivations: false), 100)
        XCTAssertEqual(unet.activation["per_token"]?.value(halfActivations: true), 7, "no half: the f32 value")

        for (figures, field, message) in [
            ("""
                weight_bytes: {value: 10, basis: exact}
                activation_per_pixel: {value: 100, half: 101, basis: measured}
            """, "components.unet.activation_per_pixel.half", "exceeds the f32 one"),
            ("""
                weight_bytes: {value: 10, half: 5, basis: exact}
            """, "components.unet.weight_bytes.half", "half"),
            ("""
                weight_bytes: {value: 10, basis: exact}
                flops_per_pixel: {value: 100, half: 50, basis: estimate}
            """, "components.unet.flops_per_pixel.half", "half"),
        ] {
            XCTAssertThrowsError(try parse(figures), field) { error in
                guard case CatalogError.invalid(let issues) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(issues.map(\.field), [field])
                XCTAssertTrue(issues.first?.message.contains(message) ?? false, "\(issues)")
            }
        }
    }

    func testUpscalerAndInterpolatorRolesBelongToTheirOwnFamilies() {
        func issues(_ produces: String, _ role: String) -> [SourceIssue] {
            let text = """
                family: odd
                description: x
                produces: \(produces)
                names: [odd.param]
                layouts:
                  ncnn: {extension: param}
                components:
                  model:
                    role: \(role)
                    weight_bytes: {value: 10, basis: exact}
                """
            do {
                _ = try ModelCatalog.parse(text, file: "odd.yaml")
                return []
            } catch CatalogError.invalid(let found) {
                return found
            } catch {
                XCTFail("\(error)")
                return []
            }
        }
        XCTAssertEqual(issues("upscaled_image", "upscaler"), [])
        XCTAssertEqual(issues("interpolated_frames", "interpolator"), [])
        let misplaced = issues("image", "upscaler")
        XCTAssertEqual(misplaced.map(\.field), ["components.model.role"])
        XCTAssertEqual(misplaced.map(\.location.line), [9])
        XCTAssertTrue(misplaced.first?.message.contains("an upscaler belongs to a family that produces upscaled_image")
                      ?? false, "\(misplaced)")
        let foreign = issues("interpolated_frames", "denoiser")
        XCTAssertEqual(foreign.map(\.field), ["components.model.role"])
        XCTAssertTrue(foreign.first?.message.contains("has only interpolator components") ?? false, "\(foreign)")
        XCTAssertEqual(issues("upscaled_image", "interpolator").map(\.field), ["components.model.role"])
    }

    func testFileNameMustMatchTheFamily() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let sd15 = TestSupport.catalogFolder.appendingPathComponent("sd15.yaml")
        let text = try String(contentsOf: sd15, encoding: .utf8)
        try text.write(to: folder.appendingPathComponent("other.yaml"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelCatalog.load(directory: folder)) { error in
            XCTAssertTrue("\(error)".contains("'sd15' must match the file name 'other'"), "\(error)")
        }
    }

    func testUnknownFamilySuggestsTheClosest() throws {
        let catalog = try TestSupport.catalog()
        let reference = ModelReference(name: "hero", source: .catalog("sd51"), family: "sd51",
                                       location: SourceLocation(file: "w.yaml", line: 4, column: 3))
        XCTAssertThrowsError(try catalog.family(of: reference)) { error in
            XCTAssertTrue("\(error)".hasPrefix("w.yaml:4:3: unknown model family 'sd51' (did you mean 'sd15'?)"),
                          "\(error)")
        }
    }
}
