import Foundation
import XCTest

@testable import KinoraFormats

/// The PEFT configuration diffusers saves as `lora_adapter_metadata`: lora_alpha over r, per-module patterns, rsLoRA,
/// and what cannot be honoured refused by name.
final class LoRAAdapterMetadataTests: XCTestCase {
    private let pairs: [(String, [Int])] = [
        ("unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight", [2, 8]),
        ("unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight", [8, 2]),
        ("unet.down_blocks.0.attentions.0.proj_in.lora_A.weight", [2, 8]),
        ("unet.down_blocks.0.attentions.0.proj_in.lora_B.weight", [8, 2]),
        ("text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_A.weight", [2, 8]),
        ("text_encoder.text_model.encoder.layers.0.mlp.fc1.lora_B.weight", [8, 2]),
    ]

    private func file(_ configuration: String) throws -> LoRAFile {
        var writer = SafetensorsWriter(metadata: ["format": "pt", LoRAAdapterMetadata.key: configuration])
        for (name, shape) in pairs {
            try writer.add(name, shape: shape, floats: [Float](repeating: 1, count: shape.reduce(1, *)))
        }
        let url = try makeTemporaryFolder(self).appending(path: "lora.safetensors")
        try writer.write(to: url)
        return try LoRAFile(url: url)
    }

    private func scale(_ lora: LoRAFile, _ module: String) throws -> Float {
        try XCTUnwrap(lora.targets.first { $0.module.hasSuffix(module) }).scale
    }

    func testLoRAAlphaOverRankWithPatternAndRsLoRAPerModelPart() throws {
        let lora = try file(
            """
            {"unet.r": 2, "unet.lora_alpha": 3.0, "unet.use_rslora": false, "unet.rank_pattern": {},
             "unet.alpha_pattern": {"mid_block.attentions.0.transformer_blocks.0.attn1.to_q": 6.0},
             "text_encoder.r": 2, "text_encoder.lora_alpha": 5.0, "text_encoder.use_rslora": true}
            """)
        XCTAssertEqual(try scale(lora, "proj_in"), 1.5, "lora_alpha 3 over r 2")
        XCTAssertEqual(try scale(lora, "attn1.to_q"), 3, "the alpha_pattern's 6 over r 2")
        XCTAssertEqual(try scale(lora, "fc1"), 5 / Float(2).squareRoot(), accuracy: 1e-6, "rsLoRA: alpha over √r")
    }

    func testAPatternMatchesModuleNameEndingsAsPEFTDoes() {
        XCTAssertTrue(LoRAAdapterMetadata.matches("attn1.to_q", "mid_block.attentions.0.attn1.to_q"))
        XCTAssertTrue(LoRAAdapterMetadata.matches("to_q", "to_q"))
        XCTAssertFalse(LoRAAdapterMetadata.matches("to_q", "mid_block.attn1.add_to_q"))
        XCTAssertTrue(LoRAAdapterMetadata.matches("down_blocks.0.attentions.0.to_q", "down_blocks.0.attentions.0.to_q"))
        XCTAssertTrue(
            LoRAAdapterMetadata.matches("attn..to_q", "mid_block.attentions.0.attn1.to_q"), "'.' is a wildcard")
    }

    func testRegularExpressionPatternsAreRefusedRatherThanMisreadOrBacktracked() {
        XCTAssertThrowsError(try file(#"{"unet.r": 2, "unet.alpha_pattern": {"(.*)*x": 4}}"#)) {
            XCTAssertTrue("\($0)".contains("is a regular expression"), "\($0)")
        }
        XCTAssertThrowsError(try file(#"{"unet.r": 1e300}"#)) {
            XCTAssertTrue("\($0)".contains("must be a positive whole number"), "\($0)")
        }
    }

    func testPartsWithoutAConfigurationKeepAlphaEqualToTheRank() throws {
        let lora = try file(#"{"text_encoder.r": 2, "text_encoder.lora_alpha": 8}"#)
        XCTAssertEqual(try scale(lora, "proj_in"), 1)
        XCTAssertEqual(try scale(lora, "fc1"), 4)
    }

    func testConfiguredRankOtherThanTheTensorsIsRefused() throws {
        XCTAssertThrowsError(try file(#"{"unet.r": 4, "unet.lora_alpha": 4}"#)) {
            guard case LoRAError.badMetadata(_, let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("rank 4") && reason.contains("rank 2"), reason)
        }
    }

    func testDoRAAndUnreadableConfigurationsAreRefused() throws {
        XCTAssertThrowsError(try file(#"{"unet.r": 2, "unet.use_dora": true}"#)) {
            guard case LoRAError.unsupportedAdapter(_, _, "DoRA") = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try file("[1, 2]")) {
            guard case LoRAError.badMetadata = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try file(#"{"unet.lora_alpha": "three"}"#)) {
            guard case LoRAError.badMetadata(_, let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("lora_alpha"), reason)
        }
    }
}
