import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The UMT5 encoder from a ComfyUI-style scaled float8 file (`umt5_xxl_fp8_e4m3fn_scaled.safetensors`: every matrix
/// e4m3fn with its `scale_weight`, the embedding table included): its matrices stay float8 on the device and the
/// host gathers the table's rows with the scale, so it gives what the same weights expanded to f32 give.
final class UMT5Float8Tests: ModelTestCase {
    /// The e4m3fn byte nearest to `value` (a finite value within ±448), by search over the 254 finite codes.
    static func e4m3(_ value: Float) -> UInt8 {
        var best: UInt8 = 0
        var distance = Float.infinity
        for code in 0...255 where code & 0x7F != 0x7F {
            let candidate = abs(HalfPrecision.float(fromE4M3: UInt8(code)) - value)
            if candidate < distance { (best, distance) = (UInt8(code), candidate) }
        }
        return best
    }

    func testScaledFloat8FileGivesTheExpandedWeightsResult() throws {
        let fixture = try UMT5Fixture(test: self)
        let folder = try makeTemporaryFolder(self)
        var writer = SafetensorsWriter()
        var float8Count = 0
        for name in fixture.store.tensorNames {
            let info = try fixture.store.info(name)
            let values = try fixture.store.floats(name)
            guard info.shape.count == 2 else {
                try writer.add(name, shape: info.shape, floats: values)
                continue
            }
            // A power-of-two scale at least max|w| / 448, so the f32 expansion of each byte is exact.
            let ratio = (values.map(\.magnitude).max() ?? 0) / 448
            let scale = ratio > 0 ? Float(sign: .plus, exponent: ratio.exponent + 1, significand: 1) : 1
            try writer.add(String(name.dropLast("weight".count)) + "scale_weight", shape: [], floats: [scale])
            try writer.add(name, dtype: .f8E4M3, shape: info.shape, bytes: values.map { Self.e4m3($0 / scale) })
            float8Count += 1
        }
        try writer.add("scaled_fp8", dtype: .f8E4M3, shape: [0], bytes: [])
        let float8URL = folder.appending(path: "umt5_fp8_e4m3fn_scaled.safetensors")
        try writer.write(to: float8URL)
        XCTAssertGreaterThan(float8Count, 10)

        let float8 = try WeightFile.open(float8URL)
        XCTAssertEqual(try float8.info("shared.weight").dtype, .f8E4M3)
        var reference = SafetensorsWriter()
        let expanded = try FP8ExpandingWeightStore(base: float8)
        for name in expanded.tensorNames {
            try reference.add(name, shape: try expanded.info(name).shape, floats: try expanded.floats(name))
        }
        let expandedURL = folder.appending(path: "expanded.safetensors")
        try reference.write(to: expandedURL)

        func encode(_ store: any WeightStore) throws -> [Float] {
            let model = try UMT5EncoderModel(
                configuration: fixture.configuration,
                weights: DeviceWeights(store: store, device: device))
            let graph = makeGraph()
            let output = try model(graph, inputIDs: fixture.inputIDs, attentionMask: fixture.attentionMask)
            return try graph.run([output])[0].floats()
        }
        let fromFloat8 = try encode(float8)
        let fromExpanded = try encode(try SafetensorsFile(url: expandedURL))
        let error = relativeL2(fromFloat8, fromExpanded)
        XCTAssertLessThanOrEqual(error, 1e-6, "float8 file against its f32 expansion: \(error)")
        // The quantization itself is far from exact: the float8 model is not simply the f32 one.
        let exact = try encode(fixture.store)
        XCTAssertGreaterThan(relativeL2(fromFloat8, exact), 1e-3)
    }
}
