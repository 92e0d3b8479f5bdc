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
