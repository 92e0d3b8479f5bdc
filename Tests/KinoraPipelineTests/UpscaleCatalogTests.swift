import Foundation
import KinoraFormats
import XCTest

@testable import KinoraPipeline

/// The catalog entries of the upscalers (Real-ESRGAN) and the frame interpolator (RIFE): their roles, what they
/// produce, and figures that are what they say they are.
final class UpscaleCatalogTests: XCTestCase {
    static let upscalers = ["realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime"]

    func testUpscalerAndInterpolatorEntriesLoadWithTheirRolesAndMeasuredPeaks() throws {
        let catalog = try TestSupport.catalog()
        for name in Self.upscalers + ["rife"] {
            let family = try XCTUnwrap(catalog.family(named: name), name)
            let role: ComponentRole = name == "rife" ? .interpolator : .upscaler
            XCTAssertEqual(family.output, name == "rife" ? .interpolatedFrames : .upscaledImage, name)
            XCTAssertEqual(family.components.map(\.role), [role], name)
            let component = try XCTUnwrap(family.components(role).first)
            XCTAssertEqual(component.weightBytes.basis, .exact, name)
            XCTAssertEqual(component.activation["per_pixel"]?.basis, .measured, name)
            XCTAssertGreaterThanOrEqual(family.measured.count, 2, name)
            for peak in family.measured {
                XCTAssertEqual(peak.peak.basis, .measured, "\(name) \(peak.size)")
                XCTAssertGreaterThan(peak.peak.value, component.weightBytes.value, "\(name) \(peak.size)")
            }
        }
        // Wan 2.1's frames, which the interpolator follows in a chain.
        let rife = try XCTUnwrap(catalog.family(named: "rife"))
        XCTAssertTrue(rife.measured.contains { $0.size == ImageSize(width: 832, height: 480) })
        let upscaler = try XCTUnwrap(catalog.family(named: "realesr-animevideov3"))
        XCTAssertEqual(Set(upscaler.measured.map(\.size)),
                       [ImageSize(width: 256, height: 256), ImageSize(width: 1024, height: 1024)])
    }

    /// Upscale and interpolate steps get a time estimate from the entries' compute figures, in proportion to the
    /// frames and pixels they make; realesr-animevideov3's figure is two flops per weight, since every one of its
    /// convolutions runs at the input's size.
    func testUpscaleAndInterpolateStepsAreEstimatedFromTheirComputeFigures() throws {
        let catalog = try TestSupport.catalog()
        let device = DeviceProfile(budgetBytes: 16 << 30)
        func seconds(_ name: String, _ kind: StageKind, width: Int, frames: Int) throws -> Double {
            let family = try XCTUnwrap(catalog.family(named: name))
            let role: ComponentRole = kind == .interpolate ? .interpolator : .upscaler
            let identity = ModelIdentity(name: name, family: name, component: role.rawValue, fingerprint: "test",
                                         precision: "auto")
            let model = try XCTUnwrap(CatalogStageModel(family: family, role: role, identity: identity))
            let stage = Stage(id: "s", kind: kind, parameters: StageParameters([
                "width": .int(width), "height": .int(width / 2), "frames": .int(frames), "scale": .int(2),
            ]), steps: frames)
            return model.estimatedSeconds(for: [stage], tactic: Tactic(), device: device)
        }
        for name in Self.upscalers {
            let one = try seconds(name, .upscale, width: 512, frames: 1)
            XCTAssertGreaterThan(one, 0, name)
            XCTAssertEqual(try seconds(name, .upscale, width: 512, frames: 10), 10 * one, accuracy: one * 1e-9, name)
            XCTAssertEqual(try seconds(name, .upscale, width: 1024, frames: 1), 4 * one, accuracy: one * 1e-9, name)
        }
        // RIFE pads frames to multiples of 128: 1024x512 is 4 times 512x256's padded pixels.
        let interpolated = try seconds("rife", .interpolate, width: 512, frames: 1)
        XCTAssertGreaterThan(interpolated, 0)
        XCTAssertEqual(try seconds("rife", .interpolate, width: 1024, frames: 3), 12 * interpolated,
                       accuracy: interpolated * 1e-9)
        // 16 convolutions of 64 -> 64 channels, 3 -> 64 and 64 -> 48, all 3x3: 619,200 weights.
        let compact = try XCTUnwrap(catalog.family(named: "realesr-animevideov3")?.components.first)
        XCTAssertEqual(compact.flops["per_pixel"]?.value, 2 * Double(9 * (3 * 64 + 16 * 64 * 64 + 64 * 48)))
    }

    /// The weight figures are the tensor bytes of the files the catalog names (ncnn's fp16 weights with fp32 biases;
    /// the RIFE checkpoint's tensors), read again from the installed files.
    func testWeightFiguresAreTheInstalledFilesTensorBytes() throws {
        let catalog = try TestSupport.catalog()
        for name in Self.upscalers + ["rife"] {
            let family = try XCTUnwrap(catalog.family(named: name))
            let path = try XCTUnwrap(family.names.first { $0.hasPrefix("/") }, "\(name) names no installed file")
            guard FileManager.default.fileExists(atPath: path) else {
                throw XCTSkip("\(path) is missing: run `bash scripts/setup.sh`")
            }
            let url = URL(fileURLWithPath: path)
            let store: any WeightStore = name == "rife" ? try WeightFile.open(url)
                : try NCNNModel(paramURL: url, binURL: url.deletingPathExtension().appendingPathExtension("bin"))
            let bytes = try store.tensorNames.reduce(0) { $0 + (try store.info($1).byteCount) }
            XCTAssertEqual(family.components.first?.weightBytes.bytes, UInt64(bytes), name)
        }
    }
}
