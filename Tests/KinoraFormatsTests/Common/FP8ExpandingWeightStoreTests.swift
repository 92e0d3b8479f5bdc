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

    /// ComfyUI's `*_fp8_scaled` layout: `X.weight` in float8 and `X.scale_weight` a float32 scalar.
    func testScaledFloat8WeightsReadAsF16TimesTheirScaleWithTheScalesHidden() throws {
        var writer = SafetensorsWriter()
        try writer.add("layer.weight", dtype: .f8E4M3, shape: [2, 2], bytes: [0x38, 0xB8, 0x40, 0x7E])  // 1 -1 2 448
        try writer.add("layer.scale_weight", shape: [], floats: [0.5])
        try writer.add("plain.weight", dtype: .f8E5M2, shape: [2], bytes: [0x3C, 0xC0])  // 1, -2
        try writer.add("bias", shape: [1], floats: [3])
        try writer.add("scaled_fp8", dtype: .f8E4M3, shape: [0], bytes: [])
        let url = try makeTemporaryFolder(self).appending(path: "scaled.safetensors")
        try writer.write(to: url)

        let store = try WeightFile.open(url)
        XCTAssertTrue(store is FP8ExpandingWeightStore)
        XCTAssertEqual(store.tensorNames, ["bias", "layer.weight", "plain.weight"])
        XCTAssertEqual(try store.info("layer.weight").dtype, .f16)
        XCTAssertEqual(try store.info("layer.weight").byteCount, 8)
        XCTAssertEqual(try store.floats("layer.weight"), [0.5, -0.5, 1, 224])
        XCTAssertEqual(try store.floats("plain.weight"), [1, -2])
        XCTAssertEqual(try store.info("bias").dtype, .f32)
        XCTAssertEqual(try store.floats("bias"), [3])
    }

    func testAScaleThatCouldOverflowF16ReadsAsF32AndABadScaleIsRefused() throws {
        var writer = SafetensorsWriter()
        try writer.add("big.weight", dtype: .f8E4M3, shape: [1], bytes: [0x7E])
        try writer.add("big.scale_weight", shape: [1], floats: [1000])
        let url = try makeTemporaryFolder(self).appending(path: "big.safetensors")
        try writer.write(to: url)
        let store = try WeightFile.open(url)
        XCTAssertEqual(try store.info("big.weight").dtype, .f32)
        XCTAssertEqual(try store.floats("big.weight"), [448_000])

        var broken = SafetensorsWriter()
        try broken.add("w.weight", dtype: .f8E4M3, shape: [1], bytes: [0x38])
        try broken.add("w.scale_weight", shape: [2], floats: [1, 2])
        let brokenURL = try makeTemporaryFolder(self).appending(path: "broken.safetensors")
        try broken.write(to: brokenURL)
        XCTAssertThrowsError(try WeightFile.open(brokenURL)) {
            XCTAssertEqual(
                $0 as? WeightsError,
                .malformedEntry(
                    file: brokenURL.path, tensor: "w.scale_weight",
                    reason: "the scale of 'w.weight' must be one number, found 2 values"))
        }
    }
}
