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
    func testTheEMAGeneratorOfATrainingCheckpointIsLoaded() throws {
        let fixture = try WanTransformerFixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let other = RandomWeightStore(shapes: fixture.store.shapes, sourceName: "other weights", seed: 3)
        let checkpoint = folder.appending(path: "self_forcing_dmd.pt")
        try TorchCheckpointWriter.write(
            WanTrainingCheckpoint(generator: other, ema: fixture.store), wrapper: nil, to: checkpoint)
        XCTAssertTrue(try PyTorchCheckpoint(url: checkpoint).tensorNames.contains(
            "generator_ema.model.blocks.0.self_attn.q.weight"))

        let loaded = try WanTransformer3DModel(file: checkpoint, device: device, configuration: fixture.configuration)
        let reference = try fixture.predict(fixture.model(self), self, timestep: fixture.timestep)
        XCTAssertEqual(try fixture.predict(loaded, self, timestep: fixture.timestep), reference)

        // Only "generator" there (CausVid's checkpoints): that one.
        let generatorOnly = folder.appending(path: "causvid.pt")
        try TorchCheckpointWriter.write(
            WanTrainingCheckpoint(generator: fixture.store, ema: nil), wrapper: nil, to: generatorOnly)
        let causVid = try WanTransformer3DModel(
            file: generatorOnly, device: device, configuration: fixture.configuration)
        XCTAssertEqual(try fixture.predict(causVid, self, timestep: fixture.timestep), reference)
    }
}
