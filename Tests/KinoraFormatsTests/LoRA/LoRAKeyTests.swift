import KinoraFormats
import XCTest

/// Each layout's keys taken apart into component, module, role and layout; adapters Kinora cannot merge refused.
final class LoRAKeyTests: XCTestCase {
    private func parse(_ key: String) throws -> LoRAKey { try LoRAKey(key, file: "a.safetensors") }

    func testKohyaKeysNameFlattenedModulesPerTextEncoder() throws {
        let unet = try parse("lora_unet_input_blocks_4_1_proj_in.lora_down.weight")
        XCTAssertEqual([unet.component, unet.layout, unet.role] as [AnyHashable], [LoRAComponent.denoiser,
                       LoRALayout.kohya, LoRAKey.Role.down])
        XCTAssertEqual(unet.module, "input_blocks_4_1_proj_in")
        XCTAssertTrue(unet.flattened)
        XCTAssertEqual(try parse("lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha").component, .textEncoder)
        XCTAssertEqual(try parse("lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight").component,
                       .textEncoder2)
        XCTAssertEqual(try parse("lora_te_text_model_encoder_layers_0_mlp_fc1.alpha").role, .alpha)
    }

    func testPEFTAndComfyUIKeysNameDottedModules() throws {
        let peft = try parse("text_encoder_2.text_model.encoder.layers.1.self_attn.q_proj.lora_B.weight")
        XCTAssertEqual(peft.component, .textEncoder2)
        XCTAssertEqual(peft.module, "text_model.encoder.layers.1.self_attn.q_proj")
        XCTAssertEqual([peft.layout, peft.role] as [AnyHashable], [LoRALayout.peft, LoRAKey.Role.up])
        XCTAssertEqual(try parse("transformer.blocks.0.self_attn.q.lora_A.weight").component, .denoiser)
        let comfy = try parse("diffusion_model.blocks.0.cross_attn.k.lora_A.weight")
        XCTAssertEqual([comfy.component, comfy.layout] as [AnyHashable], [LoRAComponent.denoiser, LoRALayout.comfyUI])
        XCTAssertEqual(comfy.module, "blocks.0.cross_attn.k")
        XCTAssertFalse(comfy.flattened)
        XCTAssertEqual(try parse("text_encoders.clip_g.transformer.text_model.encoder.layers.0.mlp.fc1.alpha")
            .component, .textEncoder2)
    }

    func testProcessorKeysAreRenamedToTheModulesTheyAdapt() throws {
        let unet = try parse("unet.mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora.up.weight")
        XCTAssertEqual(unet.module, "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0")
        XCTAssertEqual(unet.layout, .diffusersLegacy)
        let unprefixed = try parse(
            "down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_k_lora.down.weight")
        XCTAssertEqual(unprefixed.module, "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k")
        XCTAssertEqual(try parse("text_encoder.text_model.encoder.layers.0.self_attn.to_v_lora.down.weight").module,
                       "text_model.encoder.layers.0.self_attn.v_proj")
        XCTAssertEqual(try parse("text_encoder.text_model.encoder.layers.0.self_attn.to_out_lora.down.weight").module,
                       "text_model.encoder.layers.0.self_attn.out_proj")
        XCTAssertEqual(try parse("text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_linear_layer.up.weight").module,
                       "text_model.encoder.layers.0.mlp.fc1")
    }

    func testAdaptersKinoraCannotMergeAreRefusedByKind() {
        let cases = [
            ("lora_unet_down_blocks_0_resnets_0_conv1.hada_w1_a", "LoHa"),
            ("lora_unet_down_blocks_0_resnets_0_conv1.lokr_w1", "LoKr"),
            ("lora_unet_down_blocks_0_attentions_0_proj_in.dora_scale", "DoRA"),
            ("lora_unet_down_blocks_0_resnets_0_conv1.lora_mid.weight", "Tucker-decomposed LoCon (lora_mid)"),
            ("diffusion_model.input_blocks.1.1.proj_in.diff", "full-difference"),
        ]
        for (key, kind) in cases {
            XCTAssertThrowsError(try parse(key)) { error in
                XCTAssertEqual(error as? LoRAError, .unsupportedAdapter(file: "a.safetensors", key: key, kind: kind))
            }
        }
        let checkpointKey = "model.diffusion_model.input_blocks.1.1.proj_in.weight"
        XCTAssertThrowsError(try parse(checkpointKey)) { error in
            XCTAssertEqual(error as? LoRAError, .unrecognizedKey(file: "a.safetensors", key: checkpointKey))
        }
    }
}
