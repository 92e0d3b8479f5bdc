import Foundation
import KinoraFormats
import XCTest

@testable import KinoraModels

/// `WeightNormFoldedStore`: weight-norm pairs in either of PyTorch's layouts read as one folded weight, per row of
/// the first axis, in the direction's storage type; half a pair or a magnitude of the wrong size is named.
final class WeightNormFoldedStoreTests: XCTestCase {
    private func store(_ tensors: [(String, [Int], [Float], WeightDType)]) throws -> SafetensorsFile {
        var writer = SafetensorsWriter()
        for (name, shape, values, dtype) in tensors { try writer.add(name, shape: shape, floats: values, as: dtype) }
        let url = try makeTemporaryFolder(self).appending(path: "weights.safetensors")
        try writer.write(to: url)
        return try SafetensorsFile(url: url)
    }

    /// Rows (3, 4) and (0, 5, 0, 0) of norms 5 and 5, magnitudes 2 and −1: (1.2, 1.6) and (0, −1, 0, 0).
    func testPairsFoldToMagnitudeTimesUnitDirectionPerRow() throws {
        let direction: [Float] = [3, 0, 0, 4, 0, 5, 0, 0]
        for (magnitude, directionName) in [
            ("conv.weight_g", "conv.weight_v"),
            ("conv.parametrizations.weight.original0", "conv.parametrizations.weight.original1"),
        ] {
            let base = try store([
                (magnitude, [2, 1, 1], [2, -1], .f32), (directionName, [2, 2, 2], direction, .f32),
                ("conv.bias", [2], [0.5, 0.25], .f32),
            ])
            let folded = try WeightNormFoldedStore(base: base)
            XCTAssertEqual(folded.tensorNames, ["conv.bias", "conv.weight"])
            XCTAssertEqual(try folded.info("conv.weight").shape, [2, 2, 2])
            XCTAssertEqual(try folded.floats("conv.weight"), [1.2, 0, 0, 1.6, 0, -1, 0, 0])
            XCTAssertEqual(try folded.floats("conv.bias"), [0.5, 0.25])
            XCTAssertThrowsError(try folded.info(magnitude)) { error in
                XCTAssertEqual(error as? WeightsError, .missingTensor(file: base.sourceName, tensor: magnitude))
            }
        }
    }

    /// The folded weight keeps a 16-bit file's type, rounded once from the f32 product.
    func testAHalfPrecisionDirectionFoldsToHalfPrecision() throws {
        let base = try store([
            ("w.weight_g", [1, 1], [3], .f16), ("w.weight_v", [1, 3], [1, 2, 2], .f16),
        ])
        let folded = try WeightNormFoldedStore(base: base)
        XCTAssertEqual(try folded.info("w.weight").dtype, .f16)
        XCTAssertEqual(try folded.floats("w.weight"), [1, 2, 2])
    }

    func testHalfAPairOrAMisshapenMagnitudeIsNamed() throws {
        let lone = try store([("a.weight_v", [2, 3], [1, 2, 3, 4, 5, 6], .f32)])
        XCTAssertThrowsError(try WeightNormFoldedStore(base: lone)) { error in
            XCTAssertEqual(error as? WeightsError, .missingTensor(file: lone.sourceName, tensor: "a.weight_g"))
        }
        let misshapen = try store([
            ("a.weight_g", [3, 1], [1, 1, 1], .f32), ("a.weight_v", [2, 3], [1, 2, 3, 4, 5, 6], .f32),
        ])
        XCTAssertThrowsError(try WeightNormFoldedStore(base: misshapen)) { error in
            XCTAssertTrue("\(error)".contains("a.weight_g") && "\(error)".contains("[2, 3]"), "\(error)")
        }
        let both = try store([
            ("a.weight", [2, 3], [1, 2, 3, 4, 5, 6], .f32), ("a.weight_g", [2, 1], [1, 1], .f32),
            ("a.weight_v", [2, 3], [1, 2, 3, 4, 5, 6], .f32),
        ])
        XCTAssertThrowsError(try WeightNormFoldedStore(base: both)) { error in
            XCTAssertTrue("\(error)".contains("stored both"), "\(error)")
        }
    }
}
