import Foundation
import KinoraFormats
import XCTest

/// A copy of a model folder whose weights are stored in another type: what a user brings as an f16 or bf16
/// checkpoint of a model whose tiny fixture is f32. Every file is copied, each `.safetensors` file (but the fixtures'
/// `expected.safetensors`) rewritten with its tensors rounded to nearest even in the new type.
public enum ConvertedWeightFolder {
    /// Copies `source` into a new folder under the temporary directory, removed when `test` ends, with its weights as
    /// `dtype`, and returns it.
    public static func copy(_ source: URL, as dtype: WeightDType, for test: XCTestCase) throws -> URL {
        let target = FileManager.default.temporaryDirectory.appending(
            path: "kinora-\(source.lastPathComponent)-\(dtype.rawValue)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: target)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: target) }
        let files = FileManager.default.enumerator(at: target, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "safetensors", file.lastPathComponent != "expected.safetensors" else {
                continue
            }
            let weights = try SafetensorsFile(url: file)
            var writer = SafetensorsWriter()
            for tensor in weights.tensorNames {
                try writer.add(tensor, shape: weights.info(tensor).shape, floats: weights.floats(tensor), as: dtype)
            }
            try writer.write(to: file)
        }
        return target
    }
}
