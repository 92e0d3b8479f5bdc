import KinoraFormats
import KinoraModels
import XCTest

extension GenerationSettings {
    /// The settings a pipeline fixture was made with, read from its expected file's metadata (prompt, negative
    /// prompt, steps, guidance scale, seed, size and sampler — `euler` when the file names none).
    init(fixture expected: SafetensorsFile) throws {
        let metadata = expected.metadata
        self.init(prompt: try XCTUnwrap(metadata["prompt"]))
        negativePrompt = try XCTUnwrap(metadata["negative_prompt"])
        steps = try XCTUnwrap(Int(metadata["steps"] ?? ""))
        guidanceScale = try XCTUnwrap(Float(metadata["guidance_scale"] ?? ""))
        seed = try XCTUnwrap(UInt64(metadata["seed"] ?? ""))
        width = try XCTUnwrap(Int(metadata["width"] ?? ""))
        height = try XCTUnwrap(Int(metadata["height"] ?? ""))
        sampler = try XCTUnwrap(SamplerKind(rawValue: metadata["sampler"] ?? "euler"))
    }
}
