import KinoraModels
import KinoraTensor
import XCTest

final class ActivationPrecisionTests: XCTestCase {
    func testModelsRunInTheirWeightsTypeUnlessToldOtherwise() {
        XCTAssertEqual(ActivationPrecision.resolve(nil, weights: .f32), .fp32)
        XCTAssertEqual(ActivationPrecision.resolve(nil, weights: .f16), .fp16)
        XCTAssertEqual(ActivationPrecision.resolve(nil, weights: .bf16), .bf16)
        XCTAssertEqual(ActivationPrecision.resolve(nil, weights: .f8e4m3fn), .bf16)
        XCTAssertEqual(ActivationPrecision.resolve(.fp32, weights: .f16), .fp32)
        XCTAssertEqual(ActivationPrecision.resolve(.fp16, weights: .f32).dtype, .f16)
        XCTAssertEqual(ActivationPrecision.allCases.map(\.dtype), Graph.activationDTypes)
    }

    func testEitherSpellingNamesAPrecision() {
        XCTAssertEqual(["fp32", "f32", "fp16", "f16", "bf16"].map(ActivationPrecision.init(name:)),
                       [.fp32, .fp32, .fp16, .fp16, .bf16])
        XCTAssertNil(ActivationPrecision(name: "fp8"))
        XCTAssertNil(ActivationPrecision(name: "half"))
    }
}
