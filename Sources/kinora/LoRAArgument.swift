import ArgumentParser
import Foundation
import KinoraModels

/// `--lora FILE[:strength]`: a LoRA file and its strength (default 1). The text after the last colon is the strength
/// only when it is a number, so paths with colons still work.
struct LoRAArgument: ExpressibleByArgument {
    let adapter: LoRAAdapter

    init?(argument: String) {
        if let colon = argument.lastIndex(of: ":"), let strength = Float(argument[argument.index(after: colon)...]) {
            guard strength.isFinite, colon != argument.startIndex else { return nil }
            adapter = LoRAAdapter(url: URL(filePath: String(argument[..<colon])), strength: strength)
        } else {
            adapter = LoRAAdapter(url: URL(filePath: argument))
        }
    }
}
