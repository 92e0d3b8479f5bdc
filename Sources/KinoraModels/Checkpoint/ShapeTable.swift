import Foundation
import KinoraFormats

/// Tensor shapes of one component under internal names, with the look-ups configuration inference needs; every
/// failure names the checkpoint file and the tensor it looked for.
struct ShapeTable {
    let shapes: [String: [Int]]
    let file: String

    init(_ store: any WeightStore) {
        shapes = store.shapes
        file = store.sourceName
    }

    func contains(_ name: String) -> Bool { shapes[name] != nil }

    /// The shape of `name`, checked to have `rank` dimensions.
    func shape(_ name: String, rank: Int) throws -> [Int] {
        guard let shape = shapes[name] else {
            throw WeightsError.unrecognizedCheckpoint(file: file, reason: "no tensor '\(name)' to read the "
                + "configuration from")
        }
        guard shape.count == rank else {
            throw WeightsError.unrecognizedCheckpoint(file: file, reason: "tensor '\(name)' has shape \(shape), "
                + "expected \(rank) dimensions")
        }
        return shape
    }

    /// The distinct numbers N of names starting with `prefix` followed by `N.`, ascending.
    func indices(under prefix: String) -> [Int] {
        Set(shapes.keys.compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            return Int(name.dropFirst(prefix.count).prefix { $0 != "." })
        }).sorted()
    }

    /// `indices(under:)` checked to be 0, 1, …, n − 1 with n ≥ 1.
    func count(under prefix: String) throws -> Int {
        let found = indices(under: prefix)
        guard !found.isEmpty, found == Array(0..<found.count) else {
            throw WeightsError.unrecognizedCheckpoint(file: file, reason: "tensors under '\(prefix)' are numbered "
                + "\(found), expected 0, 1, …")
        }
        return found.count
    }

    /// A configuration decoded from the `config.json` object `json`, as diffusers or transformers would write it.
    func decode<Configuration: Decodable>(_ type: Configuration.Type, _ json: [String: Any]) throws
        -> Configuration {
        do {
            return try JSONDecoder().decode(type, from: JSONSerialization.data(withJSONObject: json))
        } catch {
            throw WeightsError.unrecognizedCheckpoint(file: file, reason: "inferred configuration \(json) does not "
                + "decode (\(error))")
        }
    }
}
