import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `AutoencoderOobleck` against diffusers 0.42.1 on a tiny random Oobleck VAE in fp32: decode, encode (posterior
/// mean and std), a posterior sample, the Snake activation alone, and each weight-norm layout read the same.
final class AutoencoderOobleckTests: ModelTestCase {
    /// fp32 bound on the relative L2 error against diffusers (lavapipe gives 6e-6 for the decode and up to 1e-5 for
    /// the encode's mean; the bound leaves room for other drivers' summation orders).
    static let fp32Tolerance = 5e-5

    private func decode(_ vae: AutoencoderOobleck, _ fixture: AutoencoderOobleckFixture) throws -> [Float] {
        let graph = makeGraph()
        let audio = try vae.decode(graph, fixture.input("latents", in: graph))
        XCTAssertEqual(audio.shape, try fixture.shape("decoded"))
        return try graph.run([audio])[0].floats()
    }

    func testDecodeMatchesDiffusers() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let actual = try decode(fixture.model(self), fixture)
        let expected = try fixture.values("decoded")
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, "decoded")
        print("Oobleck fp32 decode [2, 6, 5] -> [2, 2, 40]: relative L2 \(relativeL2(actual, expected))")
    }

    /// Decoding in chunks with `decodeContextFrames` of context gives the whole decode; without the context the chunk
    /// edges show. Stable Audio Open's decoder reaches 10 latent frames each side.
    func testChunkedDecodeIsTheWholeDecode() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let vae = try fixture.model(self)
        XCTAssertTrue(vae.decodesInChunks)
        var random = TorchRandom(seed: 21)
        let shape = [2, vae.configuration.decoderInputChannels, 40]
        let latents = random.normal(count: shape.reduce(1, *))
        let graph = makeGraph()
        let whole = try graph.run([vae.decode(graph, graph.input(latents, shape: shape))])[0].floats()
        let chunked = try vae.decodeChunks(latents, shape: shape, chunkFrames: 7, arena: arena)
        XCTAssertEqual(chunked.count, whole.count)
        let error = relativeL2(chunked, whole)
        XCTAssertLessThanOrEqual(error, 1e-6)
        let blind = try vae.decodeChunks(latents, shape: shape, chunkFrames: 7, contextFrames: 0, arena: arena)
        XCTAssertGreaterThan(relativeL2(blind, whole), 1e-3)
        let sao = try stableAudioOpenShapes()
        print(
            "Oobleck chunked decode (chunks of 7, context \(vae.decodeContextFrames)) vs whole: relative L2 \(error); "
                + "Stable Audio Open's context \(sao.decodeContextFrames) latent frames")
    }

    /// Stable Audio Open's VAE over shape-only weights: recorded and planned, never run.
    private func stableAudioOpenShapes() throws -> AutoencoderOobleck {
        try AutoencoderOobleck(
            configuration: .stableAudioOpen,
            weights: .shapesOnly(
                store: RandomWeightStore(
                    shapes: Dictionary(
                        uniqueKeysWithValues: AutoencoderOobleck.parameterShapes(.stableAudioOpen).map {
                            ($0.name, $0.shape)
                        }), sourceName: "random SAO VAE"), device: device))
    }

    /// The decode chunk shrinks to the device's largest buffer: Stable Audio Open's 128 frames and context need a
    /// 150 MiB buffer, over lavapipe's (and the Vulkan minimum's) 128 MiB binding, and fit NVIDIA's 4 GiB; the
    /// search finds the largest chunk that fits, and a limit no frame fits is a clear error.
    func testTheDecodeChunkFitsTheDevicesLargestBuffer() throws {
        let sao = try stableAudioOpenShapes()
        let minimum = DeviceLimits.specificationMinimum.maxBufferSize
        XCTAssertEqual(try sao.decodeChunkFrames(maxBufferBytes: DeviceLimits.nvidia.maxBufferSize, arena: arena), 128)
        let fitted = try sao.decodeChunkFrames(maxBufferBytes: minimum, arena: arena)
        XCTAssertLessThan(fitted, 128)
        let largest = { (frames: Int) throws -> UInt64 in
            let graph = self.makeGraph()
            let audio = try sao.decode(graph, graph.placeholder(shape: [1, 64, frames + 2 * sao.decodeContextFrames]))
            return try graph.memoryPlan([audio]).largestBufferBytes
        }
        XCTAssertGreaterThan(try largest(128), minimum)
        XCTAssertLessThanOrEqual(try largest(fitted), minimum)
        XCTAssertGreaterThan(try largest(fitted + 1), minimum, "the largest chunk that fits, not just one that does")
        XCTAssertEqual(try sao.encodeChunkFrames(maxBufferBytes: DeviceLimits.nvidia.maxBufferSize, arena: arena), 128)
        print("Stable Audio Open decode chunk: 128 latent frames (largest buffer \(try largest(128)) bytes), "
              + "\(fitted) within the Vulkan minimum's \(minimum)-byte binding")

        // The search over a buffer that grows by 1000 bytes a frame plus 500: the largest chunk within the limit, in
        // a few recordings, and a clear error when one frame and its context do not fit.
        var recorded: [Int] = []
        let linear = { (frames: Int) -> UInt64 in
            recorded.append(frames)
            return UInt64(1000 * frames + 500)
        }
        let chunk = try AutoencoderOobleck.fittingChunkFrames(
            preferred: 128, context: 10, maxBufferBytes: 60_000, arena: arena, largestBuffer: linear)
        XCTAssertEqual(chunk, 39, "39 + 20 frames need 59,500 bytes; 40 + 20 would need 60,500")
        XCTAssertLessThanOrEqual(recorded.count, 3, "\(recorded)")
        XCTAssertThrowsError(try AutoencoderOobleck.fittingChunkFrames(
            preferred: 128, context: 10, maxBufferBytes: 20_000, arena: arena, largestBuffer: linear)) { error in
            XCTAssertTrue("\(error)".contains("over the device's largest buffer (20000 bytes)"), "\(error)")
        }
    }

    /// Encoding and sampling in chunks with `encodeContextFrames` of context gives the whole encode's sample; without
    /// the context the chunk edges show. Stable Audio Open's encoder reaches 10 latent frames each side.
    func testChunkedEncodeIsTheWholeEncode() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let vae = try fixture.model(self)
        XCTAssertTrue(vae.encodesInChunks)
        let (hop, latent) = (vae.configuration.hopLength, vae.configuration.decoderInputChannels)
        let frames = 2 * vae.encodeContextFrames + 23
        var random = TorchRandom(seed: 22)
        let shape = [2, vae.configuration.audioChannels, frames * hop]
        let audio = random.normal(count: shape.reduce(1, *))
        let noise = random.normal(count: 2 * latent * frames)
        let graph = makeGraph()
        let (mean, std) = try vae.encode(graph, graph.input(audio, shape: shape))
        let whole = try graph.run([
            vae.sample(graph, mean: mean, std: std, noise: graph.input(noise, shape: [2, latent, frames]))
        ])[0].floats()
        let chunked = try vae.encodeChunks(audio, shape: shape, noise: noise, chunkFrames: 7, arena: arena)
        XCTAssertEqual(chunked.count, whole.count)
        let error = relativeL2(chunked, whole)
        XCTAssertLessThanOrEqual(error, 1e-6)
        let blind = try vae.encodeChunks(
            audio, shape: shape, noise: noise, chunkFrames: 7, contextFrames: 0, arena: arena)
        XCTAssertGreaterThan(relativeL2(blind, whole), 1e-3)
        let sao = try stableAudioOpenShapes()
        XCTAssertEqual(sao.encodeContextFrames, 10)
        print(
            "Oobleck chunked encode (\(frames) frames in chunks of 7, context \(vae.encodeContextFrames)) vs whole: "
                + "relative L2 \(error)")
    }

    func testEncodeMatchesDiffusers() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let vae = try fixture.model(self)
        let graph = makeGraph()
        let (mean, std) = try vae.encode(graph, fixture.input("audio", in: graph))
        let sample = try vae.sample(graph, mean: mean, std: std, noise: fixture.input("noise", in: graph))
        XCTAssertEqual(mean.shape, try fixture.shape("mean"))
        XCTAssertEqual(std.shape, try fixture.shape("std"))
        let tensors = try graph.run([mean, std, sample])
        for (tensor, key) in zip(tensors, ["mean", "std", "sample"]) {
            let actual = try tensor.floats()
            let expected = try fixture.values(key)
            assertClose(actual, expected, tolerance: Self.fp32Tolerance, key)
            print("Oobleck fp32 encode [2, 2, 48]: \(key) relative L2 \(relativeL2(actual, expected))")
        }
    }

    /// One Snake over inputs spanning [−6, 6] (several periods of sin(αx)), against diffusers' `Snake1d`.
    func testSnakeMatchesDiffusers() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let vae = try fixture.model(self)
        let graph = makeGraph()
        let snake = OobleckSnake1d(weights: vae.weights.scoped("decoder.block.1.res_unit1.snake1"))
        let output = try snake(graph, fixture.input("snake_input", in: graph))
        let actual = try graph.run([output])[0].floats()
        let expected = try fixture.values("snake_output")
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, "snake")
        print("Oobleck Snake1d: relative L2 \(relativeL2(actual, expected))")
    }

    /// The same weights saved with PyTorch's parametrization API (`parametrizations.weight.original0/1`), with the
    /// norm already folded (`weight`), or nested under `vae.` decode as diffusers' `weight_g` / `weight_v` file.
    func testEveryWeightNormLayoutDecodesTheSame() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let expected = try fixture.values("decoded")
        let parametrized = try fixture.file(self) { name in
            name.replacingOccurrences(of: ".weight_g", with: ".parametrizations.weight.original0")
                .replacingOccurrences(of: ".weight_v", with: ".parametrizations.weight.original1")
        }
        let folded = try WeightNormFoldedStore(base: fixture.weightsFile)
        var writer = SafetensorsWriter()
        for name in folded.tensorNames {
            try writer.add("vae." + name, shape: try folded.info(name).shape, floats: try folded.floats(name), as: .f32)
        }
        let plain = try makeTemporaryFolder(self).appending(path: "folded.safetensors")
        try writer.write(to: plain)
        for (layout, url) in [("parametrizations", parametrized), ("folded, prefixed", plain)] {
            let vae = try AutoencoderOobleck(file: url, device: device, configuration: fixture.configuration)
            let actual = try decode(vae, fixture)
            assertClose(actual, expected, tolerance: Self.fp32Tolerance, layout)
            print("Oobleck decode from the \(layout) layout: relative L2 \(relativeL2(actual, expected))")
        }
    }

    /// The weights under stable-audio-tools' names inside a whole Stable Audio checkpoint (`pretransform.model.`,
    /// Snake parameters [C], a DiT tensor beside them), as `make_oobleck_fixtures.py` had torch name them, decode and
    /// encode as diffusers' file does.
    func testStableAudioToolsCheckpointDecodesAndEncodesTheSame() throws {
        let fixture = try AutoencoderOobleckFixture(test: self)
        let names = try JSONDecoder().decode(
            [String: String].self,
            from: Data(contentsOf: fixture.folder.appending(path: "stable_audio_tools_names.json")))
        var writer = SafetensorsWriter()
        for name in fixture.weightsFile.tensorNames {
            let source = try XCTUnwrap(names[name], name)
            var shape = try fixture.weightsFile.info(name).shape
            if name.hasSuffix(".alpha") || name.hasSuffix(".beta") { shape = [shape[1]] }
            try writer.add(
                "pretransform.model." + source, shape: shape, floats: try fixture.weightsFile.floats(name), as: .f32)
        }
        try writer.add("model.model.transformer.layers.0.self_attn.to_qkv.weight", shape: [2], floats: [1, 2])
        let url = try makeTemporaryFolder(self).appending(path: "stable_audio_open.safetensors")
        try writer.write(to: url)
        let vae = try AutoencoderOobleck(file: url, device: device, configuration: fixture.configuration)
        let decoded = try decode(vae, fixture)
        let expectedAudio = try fixture.values("decoded")
        assertClose(decoded, expectedAudio, tolerance: Self.fp32Tolerance, "stable-audio-tools decode")
        let graph = makeGraph()
        let (mean, _) = try vae.encode(graph, fixture.input("audio", in: graph))
        let encoded = try graph.run([mean])[0].floats()
        let expectedMean = try fixture.values("mean")
        assertClose(encoded, expectedMean, tolerance: Self.fp32Tolerance, "stable-audio-tools encode")
        print(
            "Oobleck from stable-audio-tools names: decode relative L2 \(relativeL2(decoded, expectedAudio)), "
                + "encode mean \(relativeL2(encoded, expectedMean))")
    }
}
