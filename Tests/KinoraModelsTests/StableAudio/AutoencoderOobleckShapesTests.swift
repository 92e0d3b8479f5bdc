import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `AutoencoderOobleck.parameterShapes` against diffusers' tensors (the tiny fixture's, and the full-size model's
/// count), and Stable Audio Open's full-size decode recorded over shape-only weights (nothing uploaded or run) with
/// every dispatch checked against the desktop drivers' limits.
final class AutoencoderOobleckShapesTests: ModelTestCase {
    func testParameterShapesAreTheFixturesTensorsWithWeightNormFolded() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let folded = try WeightNormFoldedStore(base: fixture.weightsFile)
        let shapes = AutoencoderOobleck.parameterShapes(fixture.configuration)
        XCTAssertEqual(shapes.map(\.name).sorted(), folded.tensorNames)
        for (name, shape) in shapes { XCTAssertEqual(shape, try folded.info(name).shape, name) }
    }

    /// diffusers' default `AutoencoderOobleck()` has 156,077,696 parameters once each weight-norm pair is one
    /// weight (291 tensors), 77,973,376 of them in the encoder.
    func testStableAudioOpenHasDiffusersParameterCount() {
        let shapes = AutoencoderOobleck.parameterShapes(.stableAudioOpen)
        let count = { (prefix: String) in
            shapes.filter { $0.name.hasPrefix(prefix) }.map { $0.shape.reduce(1, *) }.reduce(0, +)
        }
        XCTAssertEqual(shapes.count, 291)
        XCTAssertEqual(count(""), 156_077_696)
        XCTAssertEqual(count("encoder."), 77_973_376)
    }

    /// Stable Audio Open 1.0's longest clip, 1024 latent frames (its `sample_size` 2,097,152 samples, 47.6 s at
    /// 44.1 kHz), decodes to [1, 2, 2,097,152] in one pass within every desktop driver's limits (its largest
    /// activation, 128 channels at the full rate, is 1 GiB), and encoding that audio gives 1024 frames.
    func testStableAudioOpensLongestClipFitsEveryDriver() throws {
        let configuration = AutoencoderOobleckConfig.stableAudioOpen
        let table = Dictionary(uniqueKeysWithValues: AutoencoderOobleck.parameterShapes(configuration))
        let store = RandomWeightStore(shapes: table, sourceName: "random Stable Audio Open VAE")
        let vae = try AutoencoderOobleck(
            configuration: configuration, weights: .shapesOnly(store: store, device: device))
        let frames = 1024
        let decode = Graph(arena: arena)
        let audio = try vae.decode(decode, decode.placeholder(shape: [1, 64, frames]))
        XCTAssertEqual(audio.shape, [1, 2, frames * 2048])
        let encode = Graph(arena: arena)
        let (mean, std) = try vae.encode(encode, encode.placeholder(shape: [1, 2, frames * 2048]))
        XCTAssertEqual(mean.shape, [1, 64, frames])
        XCTAssertEqual(std.shape, [1, 64, frames])
        for (graph, name) in [(decode, "decode"), (encode, "encode")] {
            for limits in DeviceLimits.desktopDrivers {
                let violations = graph.limitViolations(limits)
                XCTAssertTrue(violations.isEmpty, "\(name) on \(limits): \(violations.prefix(5))")
            }
            let extents = graph.dispatchExtents
            print(
                "Stable Audio Open VAE \(name), \(frames) latent frames: \(graph.nodeCount) dispatches; most "
                    + "workgroups \(extents.workgroups), largest binding \(ByteCount(extents.bindingBytes))")
        }
    }
}
