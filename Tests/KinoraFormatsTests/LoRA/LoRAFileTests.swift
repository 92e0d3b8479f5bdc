import Foundation
import KinoraFormats
import XCTest

/// Down, up and alpha paired per module, shapes checked with errors naming the file and key, and module names
/// resolved against a model's weights.
final class LoRAFileTests: XCTestCase {
    private func file(_ tensors: [(String, [Int])]) throws -> LoRAFile {
        var writer = SafetensorsWriter()
        for (name, shape) in tensors {
            try writer.add(name, shape: shape, floats: [Float](repeating: 4, count: shape.reduce(1, *)))
        }
        let url = try makeTemporaryFolder(self).appending(path: "lora.safetensors")
        try writer.write(to: url)
        return try LoRAFile(url: url)
    }

    func testPairsCarryRankScaleAndConvolutionShape() throws {
        let lora = try file([
            ("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight", [2, 8, 3, 3]),
            ("lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight", [16, 2, 1, 1]),
            ("lora_unet_down_blocks_0_resnets_0_conv1.alpha", []),
            ("unet.mid_block.attentions.0.proj_in.lora_A.weight", [4, 32]),
            ("unet.mid_block.attentions.0.proj_in.lora_B.weight", [32, 4]),
        ])
        XCTAssertEqual(lora.layouts, [.kohya, .peft])
        let conv = try XCTUnwrap(lora.targets.first { $0.layout == .kohya })
        XCTAssertEqual(conv.deltaShape, [16, 8, 3, 3])
        XCTAssertTrue(conv.isConvolution)
        XCTAssertEqual(conv.rank, 2)
        XCTAssertEqual(conv.scale, 2, "alpha 4 over rank 2")
        let linear = try XCTUnwrap(lora.targets.first { $0.layout == .peft })
        XCTAssertEqual(linear.deltaShape, [32, 32])
        XCTAssertEqual(linear.scale, 1, "no alpha: alpha equals the rank")
    }

    func testUnpairedAndMismatchedRanksNameTheKey() throws {
        XCTAssertThrowsError(try file([("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", [2, 8])])) {
            guard case LoRAError.unpaired(_, let key, "up matrix") = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(key, "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight")
        }
        let badRank = [("unet.conv_in.lora_A.weight", [2, 8]), ("unet.conv_in.lora_B.weight", [8, 3])]
        XCTAssertThrowsError(try file(badRank)) {
            guard case LoRAError.badShape(let file, "unet.conv_in.lora_B.weight", _) = $0 else {
                return XCTFail("\($0)")
            }
            XCTAssertTrue(file.hasSuffix("lora.safetensors"))
        }
        XCTAssertThrowsError(try file([("lora_unet_conv_in.lora_down.weight", [2, 8]),
                                       ("lora_unet_conv_in.lora_up.weight", [8, 2]),
                                       ("lora_unet_conv_in.alpha", [2])])) {
            guard case LoRAError.badShape(_, "lora_unet_conv_in.alpha", _) = $0 else { return XCTFail("\($0)") }
        }
    }

    func testResolverMatchesDottedAndFlattenedNamesButNotAmbiguousOnes() {
        let resolver = LoRAModuleResolver(weightNames: [
            "down_blocks.0.attentions.0.proj_in.weight", "down_blocks.0.attentions.0.proj_in.bias",
            "a.b_c.weight", "a_b.c.weight",
        ])
        XCTAssertEqual(resolver.weight(for: "down_blocks.0.attentions.0.proj_in", flattened: false),
                       "down_blocks.0.attentions.0.proj_in.weight")
        XCTAssertEqual(resolver.weight(for: "down_blocks_0_attentions_0_proj_in", flattened: true),
                       "down_blocks.0.attentions.0.proj_in.weight")
        XCTAssertNil(resolver.weight(for: "down_blocks_0_attentions_0_proj_in", flattened: false))
        XCTAssertNil(resolver.weight(for: "a_b_c", flattened: true), "two modules flatten to a_b_c")
    }
}
