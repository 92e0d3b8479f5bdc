import KinoraModels

/// Kinora's JSON text chunk of a picture `kinora image` writes: the generation settings' own keys, plus `loras` (each
/// adapter's file name and strength, in merge order) when any was merged.
struct ImageMetadata: Encodable {
    var settings: GenerationSettings
    var loras: [LoRAAdapter]

    private struct Adapter: Encodable {
        var file: String
        var strength: Float
    }

    private enum Keys: String, CodingKey {
        case loras
    }

    func encode(to encoder: any Encoder) throws {
        try settings.encode(to: encoder)
        guard !loras.isEmpty else { return }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(loras.map { Adapter(file: $0.url.lastPathComponent, strength: $0.strength) },
                             forKey: .loras)
    }
}
