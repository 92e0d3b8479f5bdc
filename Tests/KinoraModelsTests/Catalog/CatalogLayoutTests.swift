import Foundation
import KinoraModels
import XCTest

/// The catalog's tensor tables against the reference constructors' state dicts
/// (`scripts/fixtures/make_catalog_shapes.py`), and the random weights' values.
final class CatalogLayoutTests: ModelTestCase {
    func testCatalogLayoutMatchesReferenceStateDicts() throws {
        let data = try Data(contentsOf: fixtureURL("catalog/shapes.json"))
        let reference = try JSONDecoder().decode([String: [String: [Int]]].self, from: data)
        var ours: [String: [String: [Int]]] = [:]
        // SD 2.x is not in the table yet; testStableDiffusion2ParameterCountsMatchTheReference covers it.
        for model in CatalogModel.allCases where model != .sd2 {
            ours.merge(try Self.layouts(model)) { first, _ in first }
        }
        for model in WanCatalogModel.allCases {
            ours.merge(try Self.layouts(model)) { first, _ in first }
        }
        XCTAssertEqual(Set(ours.keys), Set(reference.keys))
        for (component, expected) in reference {
            let actual = ours[component] ?? [:]
            let missing = Set(expected.keys).subtracting(actual.keys).sorted()
            let extra = Set(actual.keys).subtracting(expected.keys).sorted()
            XCTAssertTrue(missing.isEmpty, "\(component) lacks \(missing.prefix(5)) (\(missing.count) in all)")
            XCTAssertTrue(extra.isEmpty, "\(component) has extra \(extra.prefix(5)) (\(extra.count) in all)")
            for (name, shape) in expected where actual[name] != nil {
                XCTAssertEqual(actual[name], shape, "\(component) \(name)")
            }
        }
        let unetParameters = try CatalogLayout.unet(CatalogModel.sd15.unetConfiguration()).values
            .reduce(0) { $0 + $1.reduce(1, *) }
        XCTAssertEqual(unetParameters, 859_520_964)
    }

    /// SD 2.1's components hold as many parameters as diffusers 0.42.1 and transformers 5.23.0 build from the same
    /// `config.json` files on the meta device (the counts `models/sd2.yaml` states).
    func testStableDiffusion2ParameterCountsMatchTheReference() throws {
        let counts = try Self.layouts(.sd2).mapValues { $0.values.reduce(0) { $0 + $1.reduce(1, *) } }
        XCTAssertEqual(counts, ["sd2TextEncoder": 340_387_840, "sd2UNet": 865_910_724, "sd2VAE": 83_653_863])
    }

    /// Every component's name → shape table, keyed as `shapes.json` keys them (`sd15UNet`, `sdxlTextEncoder2`).
    private static func layouts(_ model: CatalogModel) throws -> [String: [String: [Int]]] {
        var layouts: [String: [String: [Int]]] = [:]
        for (index, encoder) in try model.textEncoders().enumerated() {
            let key = "\(model.rawValue)TextEncoder\(index == 0 ? "" : "\(index + 1)")"
            layouts[key] = CatalogLayout.clipText(encoder.configuration, withProjection: encoder.withProjection)
        }
        layouts["\(model.rawValue)UNet"] = try CatalogLayout.unet(model.unetConfiguration())
        layouts["\(model.rawValue)VAE"] = CatalogLayout.autoencoderKL(try model.vaeConfiguration())
        return layouts
    }

    /// The Wan models' `parameterShapes` for the catalogued configurations, keyed as `shapes.json` keys them
    /// (`wan21Transformer`, `wan22VAE`, `umt5XXL`; both checkpoints share UMT5-XXL).
    private static func layouts(_ model: WanCatalogModel) throws -> [String: [String: [Int]]] {
        func table(_ shapes: [(name: String, shape: [Int])]) -> [String: [Int]] {
            Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, $0.shape) })
        }
        let key = model == .wan21T2V1_3B ? "wan21" : "wan22"
        return [
            "\(key)Transformer": table(WanTransformer3DModel.parameterShapes(try model.transformerConfiguration())),
            "\(key)VAE": table(AutoencoderKLWan.parameterShapes(try model.vaeConfiguration())),
            "umt5XXL": table(UMT5EncoderModel.parameterShapes(try model.textEncoderConfiguration())),
        ]
    }

    /// The Wan checkpoints' parameter counts, as diffusers 0.42.1 and transformers 5.23.0 build them
    /// (`make_catalog_shapes.py`): what the catalog's weight figures (`models/wan*.yaml`) count.
    func testWanParameterCountsMatchTheReference() throws {
        var counts: [String: Int] = [:]
        for model in WanCatalogModel.allCases {
            for (name, table) in try Self.layouts(model) {
                counts[name] = table.values.reduce(0) { $0 + $1.reduce(1, *) }
            }
        }
        XCTAssertEqual(
            counts,
            [
                "wan21Transformer": 1_418_996_800, "wan21VAE": 126_892_531, "wan22Transformer": 4_999_787_712,
                "wan22VAE": 704_688_668, "umt5XXL": 5_680_910_336,
            ])
        let wan22 = try WanCatalogModel.wan22TI2V5B.components()
        XCTAssertEqual(wan22.transformerStore.tensorNames.count, 825)
        XCTAssertTrue(wan22.imageToVideo)
        XCTAssertEqual(wan22.sizeMultiple, 32)
        XCTAssertEqual(try WanCatalogModel.wan21T2V1_3B.components().sizeMultiple, 16)
        XCTAssertEqual(try WanCatalogModel.wan21T2V1_3B.schedulerConfiguration().flowShift, 3)
        XCTAssertEqual(try WanCatalogModel.wan22TI2V5B.schedulerConfiguration().flowShift, 5)
    }

    func testRandomWeightStoreIsDeterministicF16AtScaleTwoHundredths() throws {
        let store = RandomWeightStore(shapes: ["a.weight": [64, 128], "b.weight": [64, 128], "c.bias": [3]],
                                      sourceName: "random test")
        XCTAssertEqual(store.tensorNames, ["a.weight", "b.weight", "c.bias"])
        XCTAssertEqual(try store.info("a.weight").dtype, .f16)
        XCTAssertEqual(store.totalBytes, 2 * (2 * 64 * 128 + 3))
        let a = try store.floats("a.weight")
        XCTAssertEqual(a, try store.floats("a.weight"))
        XCTAssertNotEqual(a, try store.floats("b.weight"))
        XCTAssertEqual(try store.floats("c.bias").count, 3)
        XCTAssertTrue(a.allSatisfy { abs($0) >= 1.0 / 128 && abs($0) < 1.0 / 32 })
        let mean = a.reduce(0, +) / Float(a.count)
        let rms = (a.reduce(0) { $0 + $1 * $1 } / Float(a.count)).squareRoot()
        XCTAssertLessThan(abs(mean), 0.002)
        XCTAssertEqual(rms, 0.02, accuracy: 0.004)
        XCTAssertThrowsError(try store.info("missing.weight"))
    }
}
