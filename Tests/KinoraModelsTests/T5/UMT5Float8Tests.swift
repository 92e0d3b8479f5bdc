import Foundation
import KinoraFormats
import KinoraTensor
import XCTest

@testable import KinoraModels

/// The UMT5 encoder from a ComfyUI-style scaled float8 file (`umt5_xxl_fp8_e4m3fn_scaled.safetensors`: every matrix
/// e4m3fn with its `scale_weight`, the embedding table included): its matrices stay float8 on the device and the
/// host gathers the table's rows with the scale, so it gives what the same weights expanded to f32 give.
final class UMT5Float8Tests: ModelTestCase {
    func testScaledFloat8FileGivesTheExpandedWeightsResult() throws {
        let fixture = try UMT5Fixture(test: self)
        let folder = try makeTemporaryFolder(self)
        let float8URL = folder.appending(path: "umt5_fp8_e4m3fn_scaled.safetensors")
        XCTAssertGreaterThan(try ScaledFloat8File.write(fixture.store, to: float8URL), 10)

        let float8 = try WeightFile.open(float8URL)
        XCTAssertEqual(try float8.info("shared.weight").dtype, .f8E4M3)
        let expanded = try ScaledFloat8File.expansion(of: float8, to: folder.appending(path: "expanded.safetensors"))

        func encode(_ store: any WeightStore) throws -> [Float] {
            let model = try UMT5EncoderModel(
                configuration: fixture.configuration,
                weights: DeviceWeights(store: store, device: device))
            let graph = makeGraph()
            let output = try model(graph, inputIDs: fixture.inputIDs, attentionMask: fixture.attentionMask)
            return try graph.run([output])[0].floats()
        }
        let fromFloat8 = try encode(float8)
        let fromExpanded = try encode(expanded)
        let error = relativeL2(fromFloat8, fromExpanded)
        XCTAssertLessThanOrEqual(error, 1e-6, "float8 file against its f32 expansion: \(error)")
        // The quantization itself is far from exact: the float8 model is not simply the f32 one.
        let exact = try encode(fixture.store)
        XCTAssertGreaterThan(relativeL2(fromFloat8, exact), 1e-3)
    }
}
