import Foundation
import KinoraFormats
import KinoraTestSupport
import KinoraTensor
import XCTest

@testable import KinoraModels

/// LoRA adapters on the tiny Wan transformer of `Tests/Fixtures/wan-transformer` in the layouts Wan LoRAs ship in
/// (ComfyUI's `diffusion_model.` with Wan's original names, musubi-tuner's kohya-style `lora_unet_`, diffusers/PEFT's
/// `transformer.`): each gives the transformer whose weights were merged beforehand, `W + strength · alpha / rank ·
/// up · down`, as diffusers' `fuse_lora` merges; a key that fits no weight is refused by name.
final class WanTransformerLoRATests: ModelTestCase {
    /// The adapted modules (diffusers names) with their down [rank, in] and up [out, rank] matrices.
    private struct Adapter {
        var pairs: [(module: String, down: [Float], up: [Float], input: Int, output: Int)]
        let rank = 2
        let alpha: Float = 3
    }

    private func adapter(_ fixture: WanTransformerFixture) throws -> Adapter {
        var random = TorchRandom(seed: 13)
        let modules = ["blocks.0.attn1.to_q", "blocks.1.attn2.to_v", "blocks.1.ffn.net.0.proj", "proj_out"]
        return Adapter(pairs: try modules.map { module in
            let shape = try fixture.store.info(module + ".weight").shape
            let (output, input) = (shape[0], shape[1])
            return (module, random.normal(count: 2 * input).map { $0 * 0.2 }, random.normal(count: output * 2)
                .map { $0 * 0.2 }, input, output)
        })
    }

    /// The adapter written in `layout`'s names.
    private func write(_ adapter: Adapter, layout: String, to url: URL, alpha: Float? = nil) throws {
        var writer = SafetensorsWriter()
        for pair in adapter.pairs {
            let original = WanTrainingCheckpoint.originalName(pair.module + ".weight").dropLast(".weight".count)
            let (stem, down, up): (String, String, String)
            switch layout {
            case "comfyui": (stem, down, up) = ("diffusion_model.\(original)", "lora_down.weight", "lora_up.weight")
            case "kohya":
                (stem, down, up) = (
                    "lora_unet_" + original.replacingOccurrences(of: ".", with: "_"), "lora_down.weight",
                    "lora_up.weight")
            default: (stem, down, up) = ("transformer.\(pair.module)", "lora_A.weight", "lora_B.weight")
            }
            try writer.add("\(stem).\(down)", shape: [adapter.rank, pair.input], floats: pair.down)
            try writer.add("\(stem).\(up)", shape: [pair.output, adapter.rank], floats: pair.up)
            if layout != "peft" { try writer.add("\(stem).alpha", shape: [], floats: [adapter.alpha]) }
        }
        if layout == "peft" {
            writer.metadata = [
                LoRAAdapterMetadata.key: #"{"transformer.r": 2, "transformer.lora_alpha": "#
                    + "\(Int(alpha ?? adapter.alpha))}"
            ]
        }
        try writer.write(to: url)
    }

    func testEachLayoutGivesTheMergedWeights() throws {
        let fixture = try WanTransformerFixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let adapter = try adapter(fixture)
        let strength: Float = 0.7
        // The merged weights, on the host.
        let merged = folder.appending(path: "merged.safetensors")
        var writer = SafetensorsWriter()
        for name in fixture.store.tensorNames {
            var values = try fixture.store.floats(name)
            if let pair = adapter.pairs.first(where: { $0.module + ".weight" == name }) {
                let factor = strength * adapter.alpha / Float(adapter.rank)
                for row in 0..<pair.output {
                    for column in 0..<pair.input {
                        var delta: Float = 0
                        for r in 0..<adapter.rank {
                            delta += pair.up[row * adapter.rank + r] * pair.down[r * pair.input + column]
                        }
                        values[row * pair.input + column] += factor * delta
                    }
                }
            }
            try writer.add(name, shape: try fixture.store.info(name).shape, floats: values)
        }
        try writer.write(to: merged)
        let expected = try fixture.predict(
            WanTransformer3DModel(file: merged, device: device, configuration: fixture.configuration), self,
            timestep: fixture.timestep)
        let plain = try fixture.predict(fixture.model(self), self, timestep: fixture.timestep)
        XCTAssertGreaterThan(relativeL2(plain, expected), 1e-3, "the adapter changes the prediction")

        for layout in ["comfyui", "kohya", "peft"] {
            let url = folder.appending(path: "\(layout).safetensors")
            try write(adapter, layout: layout, to: url)
            let model = try WanTransformer3DModel(
                folder: fixture.folder, device: device, loras: [LoRAAdapter(url: url, strength: strength)])
            let error = relativeL2(try fixture.predict(model, self, timestep: fixture.timestep), expected)
            XCTAssertLessThanOrEqual(error, 1e-5, layout)
        }

        // LongLive's lora.pt: a pickle of the generator's PEFT state dict (Wan's original names under
        // `base_model.model.`, no alpha: its alpha equals its rank) beside the critic's, which is not read. It merges
        // as the PEFT file of the same pairs with alpha = rank.
        var longLive = SafetensorsWriter()
        for pair in adapter.pairs {
            let original = WanTrainingCheckpoint.originalName(pair.module + ".weight").dropLast(".weight".count)
            for (role, scale) in [("generator_lora", Float(1)), ("critic_lora", Float(-3))] {
                let stem = "\(role).base_model.model.\(original)"
                try longLive.add(
                    "\(stem).lora_A.weight", shape: [adapter.rank, pair.input], floats: pair.down.map { $0 * scale })
                try longLive.add("\(stem).lora_B.weight", shape: [pair.output, adapter.rank], floats: pair.up)
            }
        }
        let longLiveTensors = folder.appending(path: "longlive.safetensors")
        try longLive.write(to: longLiveTensors)
        let longLiveURL = folder.appending(path: "lora.pt")
        try TorchCheckpointWriter.write(SafetensorsFile(url: longLiveTensors), wrapper: nil, to: longLiveURL)
        XCTAssertEqual(try LoRAFile(url: longLiveURL).layouts, [.peft])
        let peftURL = folder.appending(path: "peft-alpha-rank.safetensors")
        try write(adapter, layout: "peft", to: peftURL, alpha: Float(adapter.rank))
        let fromLongLive = try fixture.predict(
            WanTransformer3DModel(
                folder: fixture.folder, device: device, loras: [LoRAAdapter(url: longLiveURL, strength: strength)]),
            self, timestep: fixture.timestep)
        let fromPEFT = try fixture.predict(
            WanTransformer3DModel(
                folder: fixture.folder, device: device, loras: [LoRAAdapter(url: peftURL, strength: strength)]),
            self, timestep: fixture.timestep)
        XCTAssertEqual(fromLongLive, fromPEFT)
        XCTAssertGreaterThan(relativeL2(fromLongLive, plain), 1e-3)

        // A key for a module the transformer does not have.
        var stray = SafetensorsWriter()
        let zeros = [Float](repeating: 0, count: 80)
        try stray.add("diffusion_model.blocks.7.self_attn.q.lora_down.weight", shape: [2, 40], floats: zeros)
        try stray.add("diffusion_model.blocks.7.self_attn.q.lora_up.weight", shape: [40, 2], floats: zeros)
        let strayURL = folder.appending(path: "stray.safetensors")
        try stray.write(to: strayURL)
        XCTAssertThrowsError(
            try WanTransformer3DModel(folder: fixture.folder, device: device, loras: [LoRAAdapter(url: strayURL)])
        ) { XCTAssertTrue("\($0)".contains("blocks.7.self_attn.q"), "\($0)") }
    }
}
