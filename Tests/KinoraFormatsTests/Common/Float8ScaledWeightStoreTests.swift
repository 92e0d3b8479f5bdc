import Foundation
import KinoraFormats
import XCTest

/// ComfyUI's `*_fp8_scaled` layout: `X.weight` in float8 and `X.scale_weight` a float32 scalar, plus an unscaled
/// e5m2 weight, an f32 bias and the `scaled_fp8` marker.
func writeComfyUIScaledFile(_ testCase: XCTestCase) throws -> URL {
    var writer = SafetensorsWriter()
    try writer.add("layer.weight", dtype: .f8E4M3, shape: [2, 2], bytes: [0x38, 0xB8, 0x40, 0x7E])  // 1 -1 2 448
    try writer.add("layer.scale_weight", shape: [], floats: [0.5])
    try writer.add("plain.weight", dtype: .f8E5M2, shape: [2], bytes: [0x3C, 0xC0])  // 1, -2
    try writer.add("bias", shape: [1], floats: [3])
    try writer.add("scaled_fp8", dtype: .f8E4M3, shape: [0], bytes: [])
    let url = try makeTemporaryFolder(testCase).appending(path: "scaled.safetensors")
    try writer.write(to: url)
    return url
}

final class Float8ScaledWeightStoreTests: XCTestCase {
    func testOpenedFilesKeepFloat8BytesWithTheirScalesAttachedAndTheScaleTensorsHidden() throws {
        let store = try WeightFile.open(try writeComfyUIScaledFile(self))
        XCTAssertTrue(store is Float8ScaledWeightStore)
        XCTAssertEqual(store.tensorNames, ["bias", "layer.weight", "plain.weight"])
        let layer = try store.info("layer.weight")
        XCTAssertEqual(layer.dtype, .f8E4M3)
        XCTAssertEqual(layer.byteCount, 4, "one byte an element")
        XCTAssertEqual(layer.scale, 0.5)
        XCTAssertEqual(try store.withBytes(of: "layer.weight") { Array($0) }, [0x38, 0xB8, 0x40, 0x7E])
        XCTAssertEqual(try store.floats("layer.weight"), [0.5, -0.5, 1, 224], "host reads apply the scale")
        XCTAssertNil(try store.info("plain.weight").scale)
        XCTAssertEqual(try store.floats("plain.weight"), [1, -2])
        XCTAssertEqual(try store.floats("bias"), [3])
        let stripped = PrefixStrippedWeightStore(base: store, prefix: "layer.")
        XCTAssertEqual(try stripped.info("weight").scale, 0.5, "views keep the scale")

        var plain = SafetensorsWriter()
        try plain.add("w", shape: [1], floats: [1])
        let plainURL = try makeTemporaryFolder(self).appending(path: "plain.safetensors")
        try plain.write(to: plainURL)
        XCTAssertTrue(try WeightFile.open(plainURL) is SafetensorsFile, "no view without float8")
    }

    func testAScaleThatIsNotOneFiniteNumberIsRefusedNamingIt() throws {
        for (floats, reason) in [([1, 2], "must be one number, found 2 values"), ([.nan], "is nan")]
            as [([Float], String)]
        {
            var broken = SafetensorsWriter()
            try broken.add("w.weight", dtype: .f8E4M3, shape: [1], bytes: [0x38])
            try broken.add("w.scale_weight", shape: [floats.count], floats: floats)
            let url = try makeTemporaryFolder(self).appending(path: "broken.safetensors")
            try broken.write(to: url)
            XCTAssertThrowsError(try WeightFile.open(url)) {
                XCTAssertEqual(
                    $0 as? WeightsError,
                    .malformedEntry(
                        file: url.path, tensor: "w.scale_weight", reason: "the scale of 'w.weight' \(reason)"))
            }
        }
    }
}
