import Foundation
import KinoraFormats
import KinoraModels

/// A tiny A1111/ComfyUI single-file checkpoint, assembled at test time from the committed diffusers-folder fixtures
/// by its layout recipe, `Tests/Fixtures/single-file/<name>.layout.json`. The recipe is written by
/// `scripts/fixtures/make_single_file_fixtures.py`, which proves with diffusers' `from_single_file` that the file it
/// describes loads back to the folders' weights; it, not Kinora's key maps, says which folder tensor (and transform)
/// makes each single-file tensor, so the tests of those key maps stay independent of them.
///
/// Shared by the model and command-line tests through the KinoraTestSupport target.
public struct SingleFileFixture {
    /// Why a recipe could not be turned into a file; each case names the recipe and, where one is involved, the tensor.
    public enum RecipeError: Error, CustomStringConvertible {
        case unreadable(recipe: String, reason: String)
        case invalidEntry(recipe: String, tensor: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let recipe, let reason):
                return "\(recipe): cannot read the layout recipe (\(reason))"
            case .invalidEntry(let recipe, let tensor, let reason):
                return "\(recipe): tensor '\(tensor)': \(reason)"
            }
        }
    }

    /// One single-file tensor: its name, shape and dtype, and how it is made from tensors of a source file.
    private struct Entry: Decodable {
        let name: String
        let shape: [Int]
        let dtype: String
        /// `identity`, `concat` (along axis 0), `transpose` (2-D), `reshape` or `constant`.
        let transform: String
        /// A key of the recipe's `sources`; absent for `constant`.
        let source: String?
        let tensors: [String]?
        /// Every element of a `constant`.
        let value: Double?
    }

    private struct Recipe: Decodable {
        /// Source name to a safetensors path under `Tests/Fixtures`.
        let sources: [String: String]
        let tensors: [Entry]
    }

    /// A source tensor's shape and little-endian bytes.
    private struct Input {
        let shape: [Int]
        let bytes: [UInt8]
    }

    let recipe: URL
    let fixtures: URL

    /// The fixture `name` (`sd`, `sdxl`, `sd2`) of the `Tests/Fixtures` folder `fixtures`.
    public init(_ name: String, fixtures: URL) {
        self.fixtures = fixtures
        recipe = fixtures.appending(path: "single-file/\(name).layout.json")
    }

    /// Assembles the checkpoint and writes it to `url`.
    public func write(to url: URL) throws {
        let layout: Recipe
        do {
            layout = try JSONDecoder().decode(Recipe.self, from: Data(contentsOf: recipe))
        } catch {
            throw RecipeError.unreadable(recipe: recipe.path, reason: "\(error)")
        }
        var files: [String: SafetensorsFile] = [:]
        var writer = SafetensorsWriter()
        for entry in layout.tensors {
            guard let dtype = WeightDType(rawValue: entry.dtype) else {
                throw invalid(entry, "unknown dtype \(entry.dtype)")
            }
            if entry.transform == "constant" {
                guard let value = entry.value else { throw invalid(entry, "a constant needs a value") }
                let count = entry.shape.reduce(1, *)
                try writer.add(entry.name, shape: entry.shape, floats: [Float](repeating: Float(value), count: count),
                               as: dtype)
                continue
            }
            guard let source = entry.source, let path = layout.sources[source] else {
                throw invalid(entry, "source '\(entry.source ?? "")' is not one of \(layout.sources.keys.sorted())")
            }
            let file = try files[source] ?? SafetensorsFile(url: fixtures.appending(path: path))
            files[source] = file
            let inputs = try (entry.tensors ?? []).map { name in
                let info = try file.info(name)
                guard info.dtype == dtype else {
                    throw invalid(entry, "source tensor '\(name)' is \(info.dtype.rawValue), the recipe says \(dtype)")
                }
                return Input(shape: info.shape, bytes: try file.withBytes(of: name) { Array($0) })
            }
            try writer.add(entry.name, dtype: dtype, shape: entry.shape,
                           bytes: build(entry, from: inputs, elementSize: dtype.size))
        }
        try writer.write(to: url)
    }

    /// The entry's bytes from its source tensors, each transform checking the shapes it relates.
    private func build(_ entry: Entry, from inputs: [Input], elementSize: Int) throws -> [UInt8] {
        let shape = entry.shape
        if entry.transform == "concat" {
            guard !inputs.isEmpty, inputs.allSatisfy({ $0.shape.dropFirst() == shape.dropFirst() }),
                  inputs.map({ $0.shape.first ?? 0 }).reduce(0, +) == shape.first else {
                throw invalid(entry, "cannot concatenate \(inputs.map(\.shape)) along axis 0 into \(shape)")
            }
            return inputs.flatMap(\.bytes)
        }
        guard inputs.count == 1, let input = inputs.first else {
            throw invalid(entry, "\(entry.transform) takes one source tensor, the recipe names \(inputs.count)")
        }
        switch entry.transform {
        case "identity" where input.shape == shape:
            return input.bytes
        case "reshape" where input.shape.reduce(1, *) == shape.reduce(1, *):
            return input.bytes
        case "transpose" where input.shape.count == 2 && Array(input.shape.reversed()) == shape:
            let (rows, columns) = (input.shape[0], input.shape[1])
            var bytes = [UInt8](repeating: 0, count: input.bytes.count)
            for row in 0..<rows {
                for column in 0..<columns {
                    let from = (row * columns + column) * elementSize, to = (column * rows + row) * elementSize
                    bytes[to..<(to + elementSize)] = input.bytes[from..<(from + elementSize)]
                }
            }
            return bytes
        case "identity", "reshape", "transpose":
            throw invalid(entry, "\(entry.transform) cannot make shape \(shape) from \(input.shape)")
        default:
            throw invalid(entry, "unknown transform '\(entry.transform)'")
        }
    }

    private func invalid(_ entry: Entry, _ reason: String) -> RecipeError {
        .invalidEntry(recipe: recipe.path, tensor: entry.name, reason: reason)
    }
}
