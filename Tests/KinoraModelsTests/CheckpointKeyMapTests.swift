import Foundation
import KinoraFormats
import KinoraModels
import XCTest

/// Builds the key lists of real UNet and VAE architectures twice, once in the ldm layout and once in the diffusers
/// layout, from the same block structure, and checks that the mapping turns one into the other exactly.
final class CheckpointKeyMapTests: XCTestCase {
    private struct UNetShape {
        let levels: Int
        let attentionLevels: Set<Int>
        let layersPerBlock = 2
    }

    private static let ldmResnet = [
        "in_layers.0.weight", "in_layers.2.weight", "emb_layers.1.weight",
        "out_layers.0.weight", "out_layers.3.weight", "skip_connection.weight",
    ]
    private static let diffusersResnet = [
        "norm1.weight", "conv1.weight", "time_emb_proj.weight", "norm2.weight",
        "conv2.weight", "conv_shortcut.weight",
    ]
    private static let attention = [
        "norm.weight", "proj_in.weight", "transformer_blocks.0.attn2.to_k.weight",
        "transformer_blocks.1.ff.net.0.proj.weight", "proj_out.weight",
    ]

    private func ldmUNet(_ shape: UNetShape) -> [String] {
        var keys = [
            "time_embed.0.weight", "time_embed.2.bias", "input_blocks.0.0.weight", "out.0.weight", "out.2.bias",
        ]
        func add(_ prefix: String, _ suffixes: [String]) { keys += suffixes.map { prefix + $0 } }
        var index = 1
        for level in 0..<shape.levels {
            for _ in 0..<shape.layersPerBlock {
                add("input_blocks.\(index).0.", Self.ldmResnet)
                if shape.attentionLevels.contains(level) { add("input_blocks.\(index).1.", Self.attention) }
                index += 1
            }
            if level < shape.levels - 1 {
                add("input_blocks.\(index).0.op.", ["weight", "bias"])
                index += 1
            }
        }
        add("middle_block.0.", Self.ldmResnet)
        add("middle_block.1.", Self.attention)
        add("middle_block.2.", Self.ldmResnet)
        index = 0
        for up in 0..<shape.levels {
            let level = shape.levels - 1 - up
            for layer in 0...shape.layersPerBlock {
                add("output_blocks.\(index).0.", Self.ldmResnet)
                var module = 1
                if shape.attentionLevels.contains(level) {
                    add("output_blocks.\(index).1.", Self.attention)
                    module = 2
                }
                if layer == shape.layersPerBlock, up < shape.levels - 1 {
                    add("output_blocks.\(index).\(module).conv.", ["weight", "bias"])
                }
                index += 1
            }
        }
        return keys
    }

    private func diffusersUNet(_ shape: UNetShape) -> [String] {
        var keys = [
            "time_embedding.linear_1.weight", "time_embedding.linear_2.bias", "conv_in.weight",
            "conv_norm_out.weight", "conv_out.bias",
        ]
        func add(_ prefix: String, _ suffixes: [String]) { keys += suffixes.map { prefix + $0 } }
        for level in 0..<shape.levels {
            for layer in 0..<shape.layersPerBlock {
                add("down_blocks.\(level).resnets.\(layer).", Self.diffusersResnet)
                if shape.attentionLevels.contains(level) {
                    add("down_blocks.\(level).attentions.\(layer).", Self.attention)
                }
            }
            if level < shape.levels - 1 { add("down_blocks.\(level).downsamplers.0.conv.", ["weight", "bias"]) }
        }
        add("mid_block.resnets.0.", Self.diffusersResnet)
        add("mid_block.attentions.0.", Self.attention)
        add("mid_block.resnets.1.", Self.diffusersResnet)
        for up in 0..<shape.levels {
            for layer in 0...shape.layersPerBlock {
                add("up_blocks.\(up).resnets.\(layer).", Self.diffusersResnet)
                if shape.attentionLevels.contains(shape.levels - 1 - up) {
                    add("up_blocks.\(up).attentions.\(layer).", Self.attention)
                }
            }
            if up < shape.levels - 1 { add("up_blocks.\(up).upsamplers.0.conv.", ["weight", "bias"]) }
        }
        return keys
    }

    private func mappedNames(_ map: WeightMap, _ component: ModelComponent) -> Set<String> {
        Set(map.tensors(of: component).keys)
    }

    func testSD1AndSDXLUNetKeysMapOntoTheDiffusersLayout() throws {
        let shapes = [
            UNetShape(levels: 4, attentionLevels: [0, 1, 2]),
            UNetShape(levels: 3, attentionLevels: [1, 2]),
        ]
        for shape in shapes {
            let keys = ldmUNet(shape).map { "model.diffusion_model." + $0 }
            let map = try CheckpointKeyMap.singleFile(keys, file: "unet.safetensors")
            XCTAssertEqual(map.unmapped, [])
            XCTAssertEqual(mappedNames(map, .unet), Set(diffusersUNet(shape)))
            XCTAssertEqual(map.tensors.count, keys.count)
        }
        let sdxl = try CheckpointKeyMap.singleFile(
            [
                "model.diffusion_model.label_emb.0.0.weight", "model.diffusion_model.label_emb.0.2.bias",
                "model.diffusion_model.input_blocks.3.0.op.weight",
            ], file: "x")
        XCTAssertEqual(
            mappedNames(sdxl, .unet),
            [
                "add_embedding.linear_1.weight", "add_embedding.linear_2.bias",
                "down_blocks.0.downsamplers.0.conv.weight",
            ])
    }

    func testLDMVAEKeysMapOntoTheDiffusersLayout() throws {
        var ldm: [String] = [
            "quant_conv.weight", "post_quant_conv.bias", "encoder.conv_in.weight",
            "encoder.norm_out.weight", "decoder.conv_out.bias",
        ]
        var diffusers: [String] = [
            "quant_conv.weight", "post_quant_conv.bias", "encoder.conv_in.weight",
            "encoder.conv_norm_out.weight", "decoder.conv_out.bias",
        ]
        let resnet = [("norm1", "norm1"), ("conv2", "conv2"), ("nin_shortcut", "conv_shortcut")]
        for level in 0..<4 {
            for block in 0..<3 {
                for (old, new) in resnet {
                    if block < 2 {
                        ldm.append("encoder.down.\(level).block.\(block).\(old).weight")
                        diffusers.append("encoder.down_blocks.\(level).resnets.\(block).\(new).weight")
                    }
                    ldm.append("decoder.up.\(level).block.\(block).\(old).bias")
                    diffusers.append("decoder.up_blocks.\(3 - level).resnets.\(block).\(new).bias")
                }
            }
            if level < 3 {
                ldm.append("encoder.down.\(level).downsample.conv.weight")
                diffusers.append("encoder.down_blocks.\(level).downsamplers.0.conv.weight")
            }
            if level > 0 {
                ldm.append("decoder.up.\(level).upsample.conv.weight")
                diffusers.append("decoder.up_blocks.\(3 - level).upsamplers.0.conv.weight")
            }
        }
        for part in ["encoder", "decoder"] {
            ldm += ["\(part).mid.block_1.conv1.weight", "\(part).mid.block_2.norm2.bias"]
            diffusers += ["\(part).mid_block.resnets.0.conv1.weight", "\(part).mid_block.resnets.1.norm2.bias"]
            for (old, new) in [
                ("norm", "group_norm"), ("q", "to_q"), ("k", "to_k"), ("v", "to_v"),
                ("proj_out", "to_out.0"),
            ] {
                ldm += ["\(part).mid.attn_1.\(old).weight", "\(part).mid.attn_1.\(old).bias"]
                diffusers += [
                    "\(part).mid_block.attentions.0.\(new).weight", "\(part).mid_block.attentions.0.\(new).bias",
                ]
            }
        }
        let map = try CheckpointKeyMap.singleFile(ldm.map { "first_stage_model." + $0 }, file: "sd.safetensors")
        XCTAssertEqual(map.unmapped, [])
        XCTAssertEqual(mappedNames(map, .vae), Set(diffusers))
        let vae = map.tensors(of: .vae)
        XCTAssertEqual(vae["decoder.mid_block.attentions.0.to_q.weight"]?.transform, .squeezeToLinear)
        XCTAssertEqual(vae["decoder.mid_block.attentions.0.to_q.bias"]?.transform, .identity)
        XCTAssertEqual(vae["decoder.mid_block.attentions.0.group_norm.weight"]?.transform, .identity)
        XCTAssertEqual(mappedNames(try CheckpointKeyMap.ldmVAE(ldm, file: "vae.safetensors"), .vae), Set(diffusers))
    }

    func testTextEncoderKeysOfSD1SD2AndSDXL() throws {
        let keys = [
            "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight",
            "cond_stage_model.transformer.embeddings.token_embedding.weight",
            "conditioner.embedders.0.transformer.text_model.final_layer_norm.bias",
            "cond_stage_model.model.transformer.resblocks.3.attn.in_proj_bias",
            "cond_stage_model.model.positional_embedding",
            "cond_stage_model.model.logit_scale",
            "conditioner.embedders.1.model.transformer.resblocks.31.mlp.c_fc.weight",
            "conditioner.embedders.1.model.transformer.resblocks.0.ln_2.bias",
            "conditioner.embedders.1.model.transformer.resblocks.0.attn.out_proj.weight",
            "conditioner.embedders.1.model.ln_final.weight",
            "conditioner.embedders.1.model.text_projection",
            "model_ema.decay",
        ]
        let map = try CheckpointKeyMap.singleFile(keys, file: "x")
        XCTAssertEqual(map.unmapped, ["cond_stage_model.model.logit_scale", "model_ema.decay"])
        let first = map.tensors(of: .textEncoder)
        XCTAssertEqual(
            Set(first.keys),
            [
                "text_model.encoder.layers.0.self_attn.q_proj.weight", "text_model.embeddings.token_embedding.weight",
                "text_model.final_layer_norm.bias", "text_model.encoder.layers.3.self_attn.q_proj.bias",
                "text_model.encoder.layers.3.self_attn.k_proj.bias",
                "text_model.encoder.layers.3.self_attn.v_proj.bias",
                "text_model.embeddings.position_embedding.weight",
            ])
        XCTAssertEqual(first["text_model.encoder.layers.3.self_attn.k_proj.bias"]?.transform, .slice(part: 1, count: 3))
        let second = map.tensors(of: .textEncoder2)
        XCTAssertEqual(
            Set(second.keys),
            [
                "text_model.encoder.layers.31.mlp.fc1.weight", "text_model.encoder.layers.0.layer_norm2.bias",
                "text_model.encoder.layers.0.self_attn.out_proj.weight", "text_model.final_layer_norm.weight",
                "text_projection.weight",
            ])
        XCTAssertEqual(second["text_projection.weight"]?.transform, .transpose)
    }

    func testDiffusersFoldersKeepTheirNamesAndModernizeOldVAEAttention() throws {
        let map = try CheckpointKeyMap.diffusers(
            [
                "decoder.mid_block.attentions.0.query.weight", "decoder.mid_block.attentions.0.proj_attn.bias",
                "decoder.conv_in.weight",
            ], component: .vae, file: "vae")
        XCTAssertEqual(
            mappedNames(map, .vae),
            [
                "decoder.mid_block.attentions.0.to_q.weight",
                "decoder.mid_block.attentions.0.to_out.0.bias", "decoder.conv_in.weight",
            ])
    }

    func testFamilyIsDetectedFromTheCrossAttentionWidth() throws {
        let key = "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
        func detect(_ shapes: [String: [Int]]) throws -> CheckpointDescription {
            try CheckpointDescription.detect(shapes: shapes, file: "ckpt")
        }
        XCTAssertEqual(
            try detect(["model.diffusion_model." + key: [320, 768]]),
            CheckpointDescription(layout: .singleFile, family: .sd1, contextDimension: 768))
        XCTAssertEqual(try detect(["model.diffusion_model." + key: [320, 1024]]).family, .sd2)
        XCTAssertEqual(
            try detect([
                "model.diffusion_model.label_emb.0.0.weight": [1280, 2816],
                "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": [640, 2048],
            ]),
            CheckpointDescription(layout: .singleFile, family: .sdxl, contextDimension: 2048))
        XCTAssertEqual(
            try detect(["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight": [320, 768]]).layout,
            .diffusers)
        XCTAssertThrowsError(try detect(["model.diffusion_model." + key: [320, 1280]]))
        XCTAssertThrowsError(try detect(["first_stage_model.encoder.conv_in.weight": [128, 3, 3, 3]])) {
            XCTAssertTrue(String(describing: $0).contains("ckpt"))
        }
    }

    func testWrittenSD2CheckpointResolvesSlicesTransposeAndSqueeze() throws {
        var writer = SafetensorsWriter()
        try writer.add(
            "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",
            shape: [2, 1024], floats: [Float](repeating: 0.5, count: 2048), as: .f16)
        try writer.add("model.diffusion_model.input_blocks.3.0.op.weight", shape: [1], floats: [1])
        try writer.add(
            "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", shape: [6, 2],
            floats: (0..<12).map(Float.init), as: .bf16)
        try writer.add("cond_stage_model.model.text_projection", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        try writer.add("first_stage_model.decoder.mid.attn_1.q.weight", shape: [2, 2, 1, 1], floats: [1, 2, 3, 4])
        let url = try makeTemporaryFolder(self).appending(path: "sd2.safetensors")
        try writer.write(to: url)

        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(try CheckpointDescription.detect(shapes: file.shapes, file: url.path).family, .sd2)
        let map = try CheckpointKeyMap.singleFile(file.tensorNames, file: url.path)
        let text = map.tensors(of: .textEncoder)
        let key = try file.floats(for: XCTUnwrap(text["text_model.encoder.layers.0.self_attn.k_proj.weight"]))
        XCTAssertEqual(key.shape, [2, 2])
        XCTAssertEqual(key.values, [4, 5, 6, 7])
        let value = try file.floats(for: XCTUnwrap(text["text_model.encoder.layers.0.self_attn.v_proj.weight"]))
        XCTAssertEqual(value.values, [8, 9, 10, 11])
        let projection = try file.floats(for: XCTUnwrap(text["text_projection.weight"]))
        XCTAssertEqual(projection.shape, [3, 2])
        XCTAssertEqual(projection.values, [1, 4, 2, 5, 3, 6])
        let query = try file.floats(for: XCTUnwrap(map.tensors(of: .vae)["decoder.mid_block.attentions.0.to_q.weight"]))
        XCTAssertEqual(query.shape, [2, 2])
        XCTAssertEqual(query.values, [1, 2, 3, 4])
        let wrong = MappedTensor(
            component: .vae, name: "x", source: "cond_stage_model.model.text_projection",
            transform: .squeezeToLinear)
        XCTAssertThrowsError(try file.floats(for: wrong)) {
            guard case .transformMismatch(_, "cond_stage_model.model.text_projection", _)? = $0 as? WeightsError else {
                return XCTFail("expected a transform mismatch naming the tensor, got \($0)")
            }
        }
    }
}
