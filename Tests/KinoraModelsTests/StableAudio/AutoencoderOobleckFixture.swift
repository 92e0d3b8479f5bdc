import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The tiny random-weight Oobleck VAE under `Tests/Fixtures/oobleck/` (diffusers' fast-test configuration) and
/// diffusers 0.42.1's outputs for it, made by `scripts/fixtures/make_oobleck_fixtures.py`. The weights are F32 as
/// `save_pretrained` writes them: every convolution a `weight_g` / `weight_v` pair.
struct AutoencoderOobleckFixture {
    let folder: URL
    let configuration: AutoencoderOobleckConfig
    let weightsFile: SafetensorsFile
    let expected: SafetensorsFile

    init(test: ModelTestCase) throws {
        folder = test.fixtureURL("oobleck")
        configuration = try AutoencoderOobleckConfig.load(from: folder.appending(path: "config.json"))
        weightsFile = try test.fixture("oobleck/diffusion_pytorch_model.safetensors")
        expected = try test.fixture("oobleck/expected.safetensors")
    }

    /// The weights renamed by `rename` (nil drops a tensor) and written to a temporary file.
    func file(_ test: XCTestCase, name: String = "vae.safetensors", rename: (String) -> String? = { $0 }) throws
        -> URL
    {
        var writer = SafetensorsWriter()
        for tensor in weightsFile.tensorNames {
            guard let renamed = rename(tensor) else { continue }
            try writer.add(
                renamed, shape: try weightsFile.info(tensor).shape, floats: try weightsFile.floats(tensor), as: .f32)
        }
        let url = try makeTemporaryFolder(test).appending(path: name)
        try writer.write(to: url)
        return url
    }

    /// The model of the fixture's folder, as a user opens it.
    func model(_ test: ModelTestCase) throws -> AutoencoderOobleck {
        try AutoencoderOobleck(folder: folder, device: test.device)
    }

    func values(_ tensor: String) throws -> [Float] { try expected.floats(tensor) }

    func shape(_ tensor: String) throws -> [Int] { try expected.info(tensor).shape }

    /// `expected`'s tensor as a graph input.
    func input(_ name: String, in graph: Graph) throws -> Value {
        try graph.input(values(name), shape: shape(name))
    }
}
