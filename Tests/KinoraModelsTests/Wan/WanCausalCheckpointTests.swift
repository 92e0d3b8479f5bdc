import Foundation
import KinoraFormats
import KinoraTestSupport
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The autoregressive models' PyTorch checkpoints (Self-Forcing's, CausVid's, LongLive's): a pickle of
/// `{"generator": {"model.<Wan's original names>": …}, "generator_ema": {…}}`, read without running it; the EMA
/// weights are the ones loaded when both are there.
final class WanCausalCheckpointTests: ModelTestCase {
    /// The weights of a training checkpoint: `generator.model.<name>` from `generator` and, when given,
    /// `generator_ema.model.<name>` from `ema`, names in Wan's original layout.
    private struct TrainingCheckpoint: WeightStore {
        let sources: [String: (store: any WeightStore, name: String)]
        let tensorNames: [String]
        var sourceName: String { "training checkpoint" }

        init(generator: any WeightStore, ema: (any WeightStore)?) {
            var sources: [String: (store: any WeightStore, name: String)] = [:]
            for name in generator.tensorNames {
                let original = WanTransformerKeyMapTests.originalName(name)
                sources["generator.model." + original] = (generator, name)
                if let ema { sources["generator_ema.model." + original] = (ema, name) }
            }
            self.sources = sources
            tensorNames = sources.keys.sorted()
        }

        func info(_ name: String) throws -> WeightTensorInfo {
            guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
            let info = try source.store.info(source.name)
            return WeightTensorInfo(name: name, dtype: info.dtype, shape: info.shape, dataRange: info.dataRange)
        }

        func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
            guard let source = sources[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
            return try source.store.withBytes(of: source.name, body)
        }
    }

    func testTheEMAGeneratorOfATrainingCheckpointIsLoaded() throws {
        let fixture = try WanTransformerFixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let other = RandomWeightStore(shapes: fixture.store.shapes, sourceName: "other weights", seed: 3)
        let checkpoint = folder.appending(path: "self_forcing_dmd.pt")
        try TorchCheckpointWriter.write(
            TrainingCheckpoint(generator: other, ema: fixture.store), wrapper: nil, to: checkpoint)
        XCTAssertTrue(try PyTorchCheckpoint(url: checkpoint).tensorNames.contains(
            "generator_ema.model.blocks.0.self_attn.q.weight"))

        let loaded = try WanTransformer3DModel(file: checkpoint, device: device, configuration: fixture.configuration)
        let reference = try fixture.predict(fixture.model(self), self, timestep: fixture.timestep)
        XCTAssertEqual(try fixture.predict(loaded, self, timestep: fixture.timestep), reference)

        // Only "generator" there (CausVid's checkpoints): that one.
        let generatorOnly = folder.appending(path: "causvid.pt")
        try TorchCheckpointWriter.write(
            TrainingCheckpoint(generator: fixture.store, ema: nil), wrapper: nil, to: generatorOnly)
        let causVid = try WanTransformer3DModel(
            file: generatorOnly, device: device, configuration: fixture.configuration)
        XCTAssertEqual(try fixture.predict(causVid, self, timestep: fixture.timestep), reference)
    }
}
