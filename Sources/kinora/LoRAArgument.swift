import ArgumentParser
import Foundation
import KinoraModels

/// `--lora FILE[:strength]`: a LoRA file and its strength (default 1), split as workflows split their short form
/// (`LoRAAdapter.splitShortForm`) and held to the same strengths.
struct LoRAArgument: ExpressibleByArgument {
    let adapter: LoRAAdapter

    init?(argument: String) {
        let (file, strength) = LoRAAdapter.splitShortForm(argument)
        guard !file.isEmpty, (strength.map { LoRAAdapter.strengths.contains($0) }) ?? true else { return nil }
        adapter = LoRAAdapter(url: URL(filePath: file), strength: Float(strength ?? 1))
    }
}
