import Foundation
import KinoraFormats
import KinoraModels

/// A workflow model's LoRA adapters found on disk and read: which model parts each adapts, and what they add to the
/// identity of those parts (so a changed or re-weighted adapter re-renders exactly their stages) and to the device
/// memory of loading them (the merge's scratch).
struct ModelLoRAs {
    /// One adapter: the workflow's entry, the file it found, its fingerprint and its targets.
    struct Entry {
        var reference: LoRAReference
        var url: URL
        var fingerprint: String
        var file: LoRAFile
    }

    /// In the workflow's order.
    var entries: [Entry]

    /// Finds and reads `model`'s adapters. Throws `CatalogError.loraNotFound` / `.loraNotAFile`, and
    /// `StageGraphError.invalid` naming the entry's field for a file that cannot be read or is no LoRA Kinora can
    /// merge (the reader's error, `LoRAError` or the safetensors reader's, as its message).
    init(_ model: ModelReference, locator: ModelLocator) throws {
        entries = try model.loras.map { lora in
            let url = try locator.locate(lora, of: model)
            do {
                return Entry(reference: lora, url: url, fingerprint: try FileFingerprint.of(url),
                             file: try LoRAFile(url: url))
            } catch {
                throw StageGraphError.invalid([SourceIssue(location: lora.location, field: lora.field,
                                                           message: "\(error)")])
            }
        }
    }

    /// The LoRA components a model role's weights hold: both text encoders for `textEncoder`, the UNet for
    /// `denoiser`; none for the decoder, voices, music models, upscalers and interpolators, which LoRAs do not adapt.
    static func components(of role: ComponentRole) -> Set<LoRAComponent> {
        switch role {
        case .textEncoder: return [.textEncoder, .textEncoder2]
        case .denoiser: return [.denoiser]
        case .decoder, .voice, .music, .upscaler, .interpolator: return []
        }
    }

    /// The adapters with a target in `role`'s weights, in order.
    func entries(adapting role: ComponentRole) -> [Entry] {
        let components = Self.components(of: role)
        return entries.filter { entry in entry.file.targets.contains { components.contains($0.component) } }
    }

    /// What the adapters of `role` add to its identity: each file's fingerprint and strength, by position, so
    /// reordering them (which changes the f32 sum's rounding) counts as a change too.
    func identityOptions(for role: ComponentRole) -> [(name: String, value: String)] {
        entries(adapting: role).enumerated().map { index, entry in
            ("lora \(index)", entry.fingerprint + "@" + YAMLField.format(entry.reference.strength))
        }
    }

    /// `file:strength` of each adapter of `role`, as plans list them.
    func descriptions(for role: ComponentRole) -> [String] {
        entries(adapting: role).map { $0.url.lastPathComponent + ":" + YAMLField.format($0.reference.strength) }
    }

    /// Device bytes merging the adapters into `role`'s weights holds beyond the weights while they upload.
    func scratchBytes(for role: ComponentRole) throws -> UInt64 {
        try LoRAMergeMemory.scratchBytes(for: entries.map(\.file), components: Self.components(of: role))
    }

    /// The adapters to merge, as the pipeline takes them.
    var adapters: [LoRAAdapter] {
        entries.map { LoRAAdapter(url: $0.url, strength: Float($0.reference.strength)) }
    }
}
