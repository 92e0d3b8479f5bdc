import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// One of the tiny random-weight EnCodec folders under `Tests/Fixtures/encodec/` and transformers 5.23's decodes
/// for it, made by `scripts/fixtures/make_encodec_fixtures.py`: `musicgen-tiny` (a MusicGen checkpoint, the codec
/// under `audio_encoder.`, weight norm as `weight_g` / `weight_v`, causal convolutions) or `small` (a standalone
/// EnCodec, transformers 5's `parametrizations.weight.original0/1`, MusicGen's non-causal reflect padding).
struct EncodecFixture {
    let folder: URL
    let weightsFile: SafetensorsFile
    let expected: SafetensorsFile

    init(_ name: String, test: ModelTestCase) throws {
        folder = test.fixtureURL("encodec/\(name)")
        weightsFile = try test.fixture("encodec/\(name)/model.safetensors")
        expected = try test.fixture("encodec/\(name)/expected.safetensors")
    }

    var configuration: EncodecConfig {
        get throws { try EncodecConfig.load(from: folder.appending(path: "config.json")) }
    }

    /// The model of the fixture's folder, as a user opens it.
    func model(_ test: ModelTestCase) throws -> EncodecDecoder {
        try EncodecDecoder(folder: folder, device: test.device)
    }

    func values(_ tensor: String) throws -> [Float] { try expected.floats(tensor) }

    func shape(_ tensor: String) throws -> [Int] { try expected.info(tensor).shape }

    /// `expected`'s codes tensor [codebooks, frames] as rows of codes.
    func codes(_ tensor: String = "codes") throws -> [[Int]] {
        let (values, shape) = (try values(tensor), try shape(tensor))
        return (0..<shape[0]).map { row in values[(row * shape[1])..<((row + 1) * shape[1])].map { Int($0) } }
    }

    /// A copy of the folder (its config.json and the weights renamed by `rename`, nil dropping a tensor) in a
    /// temporary folder.
    func folder(_ test: XCTestCase, rename: (String) -> String? = { $0 }) throws -> URL {
        let copy = try makeTemporaryFolder(test)
        try FileManager.default.copyItem(
            at: folder.appending(path: "config.json"), to: copy.appending(path: "config.json"))
        var writer = SafetensorsWriter()
        for tensor in weightsFile.tensorNames {
            guard let renamed = rename(tensor) else { continue }
            try writer.add(
                renamed, shape: try weightsFile.info(tensor).shape, floats: try weightsFile.floats(tensor), as: .f32)
        }
        try writer.write(to: copy.appending(path: "model.safetensors"))
        return copy
    }
}
