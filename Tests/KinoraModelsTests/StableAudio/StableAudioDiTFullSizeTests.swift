import Foundation
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Stable Audio Open 1.0's DiT and projection model at full size, over weights known by their shapes alone
/// (nothing uploaded or run): the parameter tables match diffusers' models tensor for tensor in count and size, and
/// a guidance batch over the model's 1024 latent frames records with every dispatch within the desktop drivers'
/// limits.
final class StableAudioDiTFullSizeTests: ModelTestCase {
    func testStableAudioOpen1DiTHasDiffusersParametersAndFitsEveryDriver() throws {
        let configuration = StableAudioDiTConfig.stableAudioOpen1
        let shapes = StableAudioDiTModel.parameterShapes(configuration)
        // diffusers 0.42.1's `StableAudioDiTModel()`: 445 tensors, 1,056,939,136 parameters.
        XCTAssertEqual(shapes.count, 445)
        XCTAssertEqual(shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }, 1_056_939_136)
        let store = RandomWeightStore(
            shapes: Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, $0.shape) }), sourceName: "random sao dit")
        let model = try StableAudioDiTModel(
            configuration: configuration, weights: .shapesOnly(store: store, device: device))
        let graph = makeGraph()
        let output = try model(
            graph, hiddenStates: graph.placeholder(shape: [2, 64, 1024]), timestep: [0.5],
            encoderHiddenStates: graph.placeholder(shape: [2, 130, 768]),
            globalHiddenStates: graph.placeholder(shape: [2, 1, 1536]))
        XCTAssertEqual(output.shape, [2, 64, 1024])
        for limits in DeviceLimits.desktopDrivers {
            let violations = graph.limitViolations(limits)
            XCTAssertTrue(violations.isEmpty, "\(limits): \(violations.prefix(5))")
        }
    }

    func testStableAudioOpen1ProjectionHasDiffusersParameters() throws {
        let shapes = StableAudioProjectionModel.parameterShapes(.stableAudioOpen1)
        // diffusers 0.42.1's `StableAudioProjectionModel(768, 768, 0, 512)`: 6 tensors, 396,544 parameters (the text
        // projection is the identity).
        XCTAssertEqual(shapes.count, 6)
        XCTAssertEqual(shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }, 396_544)
    }
}
