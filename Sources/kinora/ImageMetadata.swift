import KinoraModels

/// Kinora's JSON text chunk of a picture `kinora image` writes: the generation settings' own keys, plus `loras` (each
/// adapter's file name and strength, in merge order) when any was merged, and `precision` (the UNet's activation
/// precision: fp32, fp16 or bf16) when known.
struct ImageMetadata: Encodable {
    var settings: GenerationSettings
    var loras: [LoRAAdapter]
    var precision: ActivationPrecision?

    private struct Adapter: Encodable {
        var file: String
        var strength: Float
    }

    private enum Keys: String, CodingKey {
        case loras, precision
    }

    func encode(to encoder: any Encoder) throws {
        try settings.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(precision, forKey: .precision)
        guard !loras.isEmpty else { return }
        try container.encode(loras.map { Adapter(file: $0.url.lastPathComponent, strength: $0.strength) },
                             forKey: .loras)
    }
}
