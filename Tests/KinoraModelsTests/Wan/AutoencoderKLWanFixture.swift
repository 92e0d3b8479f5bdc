import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// A tiny random-weight Wan VAE under `Tests/Fixtures/wan-vae/<name>/` and diffusers 0.42.1's outputs for it, made
/// by `scripts/fixtures/make_wan_vae_fixtures.py`: `wan21` (the Wan 2.1 architecture, 24 × 40 video) and `wan22`
/// (Wan 2.2's: residual blocks, 2 × 2 patches, 32 × 48 video). The committed weights are F16 holding fp16-exact
/// values, so the F32 copy the tests write (`f32Store`) is the model diffusers ran.
struct AutoencoderKLWanFixture {
    let name: String
    let folder: URL
    let configuration: AutoencoderKLWanConfig
    /// The committed F16 weights under diffusers' names.
    let halfStore: SafetensorsFile
    let expected: SafetensorsFile

    init(_ name: String, test: ModelTestCase) throws {
        self.name = name
        folder = test.fixtureURL("wan-vae/\(name)")
        configuration = try AutoencoderKLWanConfig.load(from: folder.appending(path: "config.json"))
        halfStore = try test.fixture("wan-vae/\(name)/diffusion_pytorch_model.safetensors")
        expected = try test.fixture("wan-vae/\(name)/expected.safetensors")
    }

    /// The weights written as `dtype` (F32: exact; BF16: rounded) to a temporary file, renamed by `rename` (nil
    /// drops a tensor).
    func store(
        _ dtype: WeightDType = .f32, test: XCTestCase, file: String = "weights.safetensors",
        rename: (String) -> String? = { $0 }
    ) throws -> URL {
        var writer = SafetensorsWriter()
        for tensor in halfStore.tensorNames {
            guard let renamed = rename(tensor) else { continue }
            try writer.add(
                renamed, shape: try halfStore.info(tensor).shape, floats: try halfStore.floats(tensor),
                as: dtype)
        }
        let url = try makeTemporaryFolder(test).appending(path: file)
        try writer.write(to: url)
        return url
    }

    /// The model over `store` (default: the F32 copy) on `test`'s device.
    func model(_ test: ModelTestCase, store: (any WeightStore)? = nil, fusedAttentionHeadDim: Int = 256) throws
        -> AutoencoderKLWan
    {
        let weights = try store ?? SafetensorsFile(url: self.store(test: test))
        return try AutoencoderKLWan(
            configuration: configuration, weights: DeviceWeights(store: weights, device: test.device),
            fusedAttentionHeadDim: fusedAttentionHeadDim)
    }

    func values(_ tensor: String) throws -> [Float] { try expected.floats(tensor) }

    func shape(_ tensor: String) throws -> [Int] { try expected.info(tensor).shape }

    /// `expected`'s tensor as a device tensor.
    func tensor(_ name: String, on device: GPUDevice) throws -> Tensor {
        try Tensor(values(name), shape: shape(name), on: device)
    }

    /// The input video: `video_u8 / 127.5 − 1` in f32, as the script computes it.
    func video(on device: GPUDevice) throws -> Tensor {
        try Tensor(values("video_u8").map { $0 / 127.5 - 1 }, shape: shape("video_u8"), on: device)
    }

    /// diffusers' `enable_tiling` arguments the fixture's `tiled_decoded` used.
    var tiles: AutoencoderKLWan.TileConfiguration {
        get throws {
            let metadata = expected.metadata
            func value(_ key: String) throws -> Int { try XCTUnwrap(metadata[key].flatMap { Int($0) }, key) }
            return AutoencoderKLWan.TileConfiguration(
                sampleHeight: try value("tile_sample_min_height"), sampleWidth: try value("tile_sample_min_width"),
                strideHeight: try value("tile_sample_stride_height"), strideWidth: try value("tile_sample_stride_width")
            )
        }
    }

    /// The latent frames `range` of the fixture's latents as a device tensor.
    func latents(_ range: Range<Int>, on device: GPUDevice) throws -> Tensor {
        try frames(values("latents"), shape: shape("latents"), range, on: device)
    }

    /// Frames `range` (axis 2) of a [B, C, T, H, W] tensor given by its values.
    func frames(_ values: [Float], shape: [Int], _ range: Range<Int>, on device: GPUDevice) throws -> Tensor {
        try Tensor(
            Self.frames(values, shape: shape, range), shape: [shape[0], shape[1], range.count, shape[3], shape[4]],
            on: device)
    }

    static func frames(_ values: [Float], shape: [Int], _ range: Range<Int>) -> [Float] {
        let plane = shape[3] * shape[4]
        var result: [Float] = []
        for outer in 0..<(shape[0] * shape[1]) {
            let start = (outer * shape[2] + range.lowerBound) * plane
            result += values[start..<(start + range.count * plane)]
        }
        return result
    }
}
