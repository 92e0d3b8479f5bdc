import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// Bad input to the Oobleck VAE: latents or audio of the wrong shape, weights with a tensor missing, half a
/// weight-norm pair, a tensor of the wrong shape or one of another model, and configurations that cannot be an
/// Oobleck VAE; each a clear error before any work, naming what is wrong.
final class AutoencoderOobleckInputTests: ModelTestCase {
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

    func testLatentsWithTheWrongChannelCountAreRefused() throws {
        let vae = try AutoencoderOobleckFixture(test: self).model(self)
        let graph = makeGraph()
        let latents = try graph.input([Float](repeating: 0, count: 2 * 8 * 5), shape: [2, 8, 5])
        assertThrows(try vae.decode(graph, latents), containing: ["decode", "[2, 8, 5]", "[N, 6, T]"])
        let flat = try graph.input([Float](repeating: 0, count: 30), shape: [6, 5])
        assertThrows(try vae.decode(graph, flat), containing: ["decode", "[6, 5]"])
    }

    func testAudioWithTheWrongChannelsOrTooFewSamplesIsRefused() throws {
        let vae = try AutoencoderOobleckFixture(test: self).model(self)
        let graph = makeGraph()
        let mono = try graph.input([Float](repeating: 0, count: 48), shape: [1, 1, 48])
        assertThrows(try vae.encode(graph, mono), containing: ["encode", "[1, 1, 48]", "[N, 2, L]"])
        let short = try graph.input([Float](repeating: 0, count: 14), shape: [1, 2, 7])
        assertThrows(try vae.encode(graph, short), containing: ["encode", "7 samples", "8 samples"])
    }

    func testAMissingTensorIsNamedWithTheNamesDiffusersSavesItUnder() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let url = try fixture.file(self) { $0.hasPrefix("decoder.block.1.res_unit2.conv1.weight_") ? nil : $0 }
        assertThrows(
            try AutoencoderOobleck(file: url, device: device, configuration: fixture.configuration),
            containing: [
                "decoder.block.1.res_unit2.conv1.weight", "missing", "weight_g", "weight_v", "[12, 12, 7]",
            ])
        let snake = try fixture.file(self) { $0 == "encoder.snake1.beta" ? nil : $0 }
        assertThrows(
            try AutoencoderOobleck(file: snake, device: device, configuration: fixture.configuration),
            containing: ["encoder.snake1.beta", "missing", "[1, 24, 1]"])
    }

    func testHalfAWeightNormPairIsNamed() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let url = try fixture.file(self) { $0 == "encoder.conv2.weight_v" ? nil : $0 }
        assertThrows(
            try AutoencoderOobleck(file: url, device: device, configuration: fixture.configuration),
            containing: ["encoder.conv2.weight_v"])
    }

    func testWeightsOfAnotherSizeAreRefusedNamingTheTensor() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        var other = fixture.configuration
        other.decoderChannels = 16
        let url = try fixture.file(self)
        assertThrows(
            try AutoencoderOobleck(file: url, device: device, configuration: other),
            containing: ["decoder.conv1.weight", "expected shape [32, 6, 7]", "found [24, 6, 7]"])
        var writer = SafetensorsWriter()
        let store = fixture.weightsFile
        for name in store.tensorNames {
            try writer.add(name, shape: try store.info(name).shape, floats: try store.floats(name), as: .f32)
        }
        try writer.add("decoder.conv2.bias", shape: [2], floats: [0, 0], as: .f32)
        let withBias = try makeTemporaryFolder(self).appending(path: "bias.safetensors")
        try writer.write(to: withBias)
        assertThrows(
            try AutoencoderOobleck(file: withBias, device: device, configuration: fixture.configuration),
            containing: ["decoder.conv2.bias", "has no place"])
    }

    func testAFileWithoutAnOobleckDecoderIsRefused() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let url = try fixture.file(self) { $0.hasPrefix("encoder.") ? $0 : nil }
        assertThrows(
            try AutoencoderOobleck(file: url, device: device, configuration: fixture.configuration),
            containing: ["no Oobleck VAE", "decoder.block.0.conv_t1.weight_v"])
    }

    func testConfigurationsThatCannotBeAnOobleckVAEAreRefused() throws {
        var odd = AutoencoderOobleckConfig.stableAudioOpen
        odd.encoderHiddenSize = 100
        assertThrows(try odd.validate(), containing: ["encoder_hidden_size 100", "decoder_input_channels 64"])
        var short = AutoencoderOobleckConfig.stableAudioOpen
        short.channelMultiples = [1, 2]
        assertThrows(try short.validate(), containing: ["channel_multiples [1, 2]", "5 downsampling_ratios"])
        var zero = AutoencoderOobleckConfig.stableAudioOpen
        zero.downsamplingRatios = [2, 0, 4, 8, 8]
        assertThrows(try zero.validate(), containing: ["downsampling_ratios [2, 0, 4, 8, 8]"])
        let folder = try makeTemporaryFolder(self)
        let config = folder.appending(path: "config.json")
        try Data(#"{"audio_channels": "two"}"#.utf8).write(to: config)
        assertThrows(try AutoencoderOobleckConfig.load(from: config), containing: [config.path, "audio_channels"])
    }
}
