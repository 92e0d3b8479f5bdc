import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Bad input to the EnCodec decoder: codes it cannot decode, weights with a tensor missing or of the wrong shape,
/// files with no codec, and configurations it does not run; each a clear error before any work, naming what is
/// wrong.
final class EncodecInputTests: ModelTestCase {
    private func assertThrows<T>(
        _ expression: @autoclosure () throws -> T, containing parts: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            let message = "\(error)"
            for part in parts {
                XCTAssertTrue(message.contains(part), "'\(message)' lacks '\(part)'", file: file, line: line)
            }
        }
    }

    func testCodesTheCodecCannotDecodeAreRefused() throws {
        let codec = try EncodecFixture("small", test: self).model(self)
        let row = [Int](repeating: 3, count: 5)
        assertThrows(
            try codec.decode(codes: [row, [1, 2, 64, 4, 5]], arena: arena),
            containing: ["code 64", "codebook 1, frame 2", "0..<64"])
        assertThrows(try codec.decode(codes: [[-1]], arena: arena), containing: ["code -1", "codebook 0, frame 0"])
        assertThrows(
            try codec.decode(codes: Array(repeating: row, count: 5), arena: arena),
            containing: ["5 codebooks", "1 to 4"])
        assertThrows(try codec.decode(codes: [], arena: arena), containing: ["0 codebooks"])
        assertThrows(
            try codec.decode(codes: [row, [1, 2]], arena: arena),
            containing: ["codebook 1 has 2 frames", "codebook 0 has 5"])
        assertThrows(try codec.decode(codes: [[], []], arena: arena), containing: ["no frames"])
        let graph = makeGraph()
        let wrong = try graph.input([Float](repeating: 0, count: 11 * 5), shape: [1, 11, 5])
        assertThrows(try codec.decode(graph, embeddings: wrong), containing: ["[1, 11, 5]", "[N, 12, T]"])
    }

    func testAMissingTensorIsNamedWithTheNamesTransformersSavesItUnder() throws {
        let fixture = try EncodecFixture("small", test: self)
        let bias = try fixture.folder(self) { $0 == "decoder.layers.4.block.1.conv.bias" ? nil : $0 }
        assertThrows(
            try EncodecDecoder(folder: bias, device: device),
            containing: ["decoder.layers.4.block.1.conv.bias", "missing", "[4]"])
        let weight = try fixture.folder(self) { $0.hasPrefix("decoder.layers.0.conv.parametrizations") ? nil : $0 }
        assertThrows(
            try EncodecDecoder(folder: weight, device: device),
            containing: ["decoder.layers.0.conv.weight", "missing", "original0", "weight_g", "[16, 12, 7]"])
        let lstm = try fixture.folder(self) { $0 == "decoder.layers.1.lstm.bias_hh_l1" ? nil : $0 }
        assertThrows(
            try EncodecDecoder(folder: lstm, device: device),
            containing: ["decoder.layers.1.lstm.bias_hh_l1", "missing", "[64]"])
        let codebook = try fixture.folder(self) { $0 == "quantizer.layers.3.codebook.embed" ? nil : $0 }
        assertThrows(
            try EncodecDecoder(folder: codebook, device: device),
            containing: ["quantizer.layers.3.codebook.embed", "missing", "[64, 12]", "4 codebooks"])
        let half = try fixture.folder(self) {
            $0 == "decoder.layers.3.conv.parametrizations.weight.original1" ? nil : $0
        }
        assertThrows(
            try EncodecDecoder(folder: half, device: device),
            containing: ["decoder.layers.3.conv.parametrizations.weight.original1"])
    }

    func testWeightsOfAnotherSizeAreRefusedNamingTheTensor() throws {
        let fixture = try EncodecFixture("small", test: self)
        var configuration = try fixture.configuration
        configuration.numFilters = 8
        let store = try EncodecKeyMap.layerNames(fixture.weightsFile)
        assertThrows(
            try EncodecDecoder(configuration: configuration, weights: DeviceWeights(store: store, device: device)),
            containing: ["decoder.layers.0.conv.weight", "expected shape [32, 12, 7]", "found [16, 12, 7]"])
        configuration = try fixture.configuration
        configuration.useConvShortcut = true
        assertThrows(
            try EncodecDecoder(configuration: configuration, weights: DeviceWeights(store: store, device: device)),
            containing: ["decoder.layers.4.shortcut.conv.weight", "missing"])
        configuration = try fixture.configuration
        configuration.numLstmLayers = 1
        assertThrows(
            try EncodecDecoder(configuration: configuration, weights: DeviceWeights(store: store, device: device)),
            containing: ["decoder.layers.1.lstm.", "_l1", "no place in", "1 LSTM layers"])
    }

    func testAFileWithoutACodecIsRefused() throws {
        let fixture = try EncodecFixture("musicgen-tiny", test: self)
        let url = try fixture.folder(self) { $0.hasPrefix("audio_encoder.") ? nil : $0 }
        assertThrows(
            try EncodecDecoder(folder: url, device: device),
            containing: ["no EnCodec decoder", "decoder.layers.1.lstm.weight_hh_l0", "audio_encoder."])
    }

    func testTheMusicGenConfigurationHoldsTheCodecsAndBadValuesAreNamed() throws {
        let musicgen = try EncodecFixture("musicgen-tiny", test: self).configuration
        XCTAssertEqual(musicgen.hiddenSize, 99)
        XCTAssertEqual(musicgen.numQuantizers, 4)
        XCTAssertEqual(musicgen.upsamplingRatios, [8, 5, 4, 2])
        let small = try EncodecFixture("small", test: self).configuration
        XCTAssertEqual(small.numQuantizers, 4)
        XCTAssertFalse(small.useCausalConv)
        XCTAssertEqual(EncodecConfig.musicgen32kHz.numQuantizers, 4)
        XCTAssertEqual(EncodecConfig.musicgen32kHz.frameRate, 50)
        let folder = try makeTemporaryFolder(self)
        for (json, parts) in [
            (#"{"chunk_length_s": 1.0, "overlap": 0.01}"#, ["chunk_length_s", "not supported"]),
            (#"{"audio_encoder": {"codebook_dim": 64}}"#, ["codebook_dim 64", "hidden_size 128"]),
            (#"{"norm_type": "time_group_norm"}"#, ["time_group_norm"]),
            (#"{"pad_mode": "circular"}"#, ["pad_mode 'circular'"]),
            (#"{"codebook_size": 1000}"#, ["codebook_size 1000", "power of 2"]),
            (#"{"upsampling_ratios": "8"}"#, ["upsampling_ratios"]),
        ] {
            let url = folder.appending(path: "config.json")
            try Data(json.utf8).write(to: url)
            assertThrows(try EncodecConfig.load(from: url), containing: [url.path] + parts)
        }
    }
}
