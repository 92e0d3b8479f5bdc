import Foundation
import KinoraFormats
import XCTest

final class FP8ExpandingWeightStoreTests: XCTestCase {
    func testEveryFloat8BitPatternDecodesAsTorchReadsIt() throws {
        let table = try SafetensorsFile(url: fixturesFolder.appending(path: "pytorch/float8.safetensors"))
        let bits = try table.withBytes(of: "bits") { Array($0) }
        XCTAssertEqual(bits.count, 256)
        for (format, decode) in [("e4m3fn", HalfPrecision.float(fromE4M3:)), ("e5m2", HalfPrecision.float(fromE5M2:))] {
            let expected = try table.floats(format)
            for (pattern, value) in zip(bits, expected) {
                let ours = decode(pattern)
                XCTAssertTrue(
                    ours == value || (ours.isNaN && value.isNaN), "\(format) 0x\(String(pattern, radix: 16)): \(ours)")
                XCTAssertEqual(ours.sign, value.sign, "\(format) 0x\(String(pattern, radix: 16))")
            }
        }
    }

    func testTheHostExpansionReadsScaledFloat8AsF16TimesTheScale() throws {
        let store = try FP8ExpandingWeightStore(base: WeightFile.open(try writeComfyUIScaledFile(self)))
        XCTAssertEqual(store.tensorNames, ["bias", "layer.weight", "plain.weight"])
        XCTAssertEqual(try store.info("layer.weight").dtype, .f16)
        XCTAssertEqual(try store.info("layer.weight").byteCount, 8)
        XCTAssertNil(try store.info("layer.weight").scale, "applied, not attached")
        XCTAssertEqual(try store.floats("layer.weight"), [0.5, -0.5, 1, 224])
        XCTAssertEqual(try store.floats("plain.weight"), [1, -2])
        XCTAssertEqual(try store.info("bias").dtype, .f32)
        XCTAssertEqual(try store.floats("bias"), [3])
    }

    func testAScaleThatCouldOverflowF16ExpandsToF32() throws {
        var writer = SafetensorsWriter()
        try writer.add("big.weight", dtype: .f8E4M3, shape: [1], bytes: [0x7E])
        try writer.add("big.scale_weight", shape: [1], floats: [1000])
        let url = try makeTemporaryFolder(self).appending(path: "big.safetensors")
        try writer.write(to: url)
        let store = try FP8ExpandingWeightStore(base: WeightFile.open(url))
        XCTAssertEqual(try store.info("big.weight").dtype, .f32)
        XCTAssertEqual(try store.floats("big.weight"), [448_000])
    }
}
