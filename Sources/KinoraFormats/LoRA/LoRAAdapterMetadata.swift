import Foundation

/// The PEFT configuration diffusers saves with a LoRA (`save_lora_weights(..., unet_lora_adapter_metadata=...)`): the
/// safetensors metadata entry `lora_adapter_metadata`, a JSON object of each `LoraConfig` field under its model
/// part's prefix (`unet.lora_alpha`, `unet.r`, `unet.alpha_pattern`, `text_encoder.rank_pattern`, ...). PEFT scales
/// a module's update by `lora_alpha / r` (`lora_alpha / √r` with `use_rslora`), the pattern entries overriding both
/// per module; files without this entry were trained with `lora_alpha == r`, a scale of 1.
public struct LoRAAdapterMetadata: Sendable, Equatable {
    /// The safetensors metadata key diffusers writes the configuration under.
    public static let key = "lora_adapter_metadata"

    /// One model part's `LoraConfig`, with PEFT's defaults for fields the file leaves out.
    struct Configuration: Sendable, Equatable {
        var rank = 8
        var alpha: Float = 8
        var rankPattern: [(pattern: String, rank: Int)] = []
        var alphaPattern: [(pattern: String, alpha: Float)] = []
        var rsLoRA = false

        static func == (lhs: Configuration, rhs: Configuration) -> Bool {
            lhs.rank == rhs.rank && lhs.alpha == rhs.alpha && lhs.rsLoRA == rhs.rsLoRA
                && lhs.rankPattern.elementsEqual(rhs.rankPattern) { $0 == $1 }
                && lhs.alphaPattern.elementsEqual(rhs.alphaPattern) { $0 == $1 }
        }
    }

    let configurations: [LoRAComponent: Configuration]
    /// The file's name, for messages.
    let file: String

    /// The prefixes diffusers packs each model part's configuration under.
    private static let prefixes: [(String, LoRAComponent)] = [
        ("unet", .denoiser), ("transformer", .denoiser), ("text_encoder", .textEncoder),
        ("text_encoder_2", .textEncoder2),
    ]

    /// Reads `metadata[key]` of `file`; nil when the file has none. Throws `LoRAError.badMetadata` for JSON that is
    /// not an object of `LoraConfig` fields, and `LoRAError.unsupportedAdapter` for a DoRA configuration.
    public init?(_ metadata: [String: String], file: String) throws {
        guard let text = metadata[Self.key] else { return nil }
        guard case .object(let object)? = try? JSONDocument.parse(Array(text.utf8)) else {
            throw LoRAError.badMetadata(file: file, reason: "'\(Self.key)' is not a JSON object")
        }
        var fields: [LoRAComponent: [String: JSONValue]] = [:]
        for (name, value) in object {
            guard let dot = name.firstIndex(of: "."),
                let component = Self.prefixes.first(where: { $0.0 == name[..<dot] })?.1
            else { continue }
            fields[component, default: [:]][String(name[name.index(after: dot)...])] = value
        }
        configurations = try fields.mapValues { try Self.configuration($0, file: file) }
        self.file = file
    }

    private static func configuration(_ fields: [String: JSONValue], file: String) throws -> Configuration {
        func number(_ value: JSONValue?, _ name: String) throws -> Double? {
            switch value {
            case nil, .null?: return nil
            case .integer(let integer)?: return Double(integer)
            case .number(let number)?: return number
            case let other?: throw LoRAError.badMetadata(file: file, reason: "'\(name)' is \(other.kind), not a number")
            }
        }
        func rank(_ value: Double, _ name: String) throws -> Int {
            guard let rank = Int(exactly: value), rank > 0 else {
                throw LoRAError.badMetadata(
                    file: file, reason: "'\(name)' must be a positive whole number, got \(value)")
            }
            return rank
        }
        /// A pattern map in file order (PEFT takes the first pattern that matches).
        func pattern(_ name: String) throws -> [(String, Double)] {
            switch fields[name] {
            case nil, .null?: return []
            case .object(let map)?:
                return try map.map { key, value in
                    guard key.allSatisfy({ $0 == "." || !"\\^$*+?()[]{}|".contains($0) }) else {
                        throw LoRAError.badMetadata(
                            file: file,
                            reason: "'\(name)' key '\(key)' is a regular expression; Kinora matches module "
                                + "names with '.' as the only wildcard")
                    }
                    guard let number = try number(value, "\(name)['\(key)']") else {
                        throw LoRAError.badMetadata(file: file, reason: "'\(name)' gives '\(key)' no number")
                    }
                    return (key, number)
                }
            case let other?:
                throw LoRAError.badMetadata(file: file, reason: "'\(name)' is \(other.kind), not a mapping")
            }
        }
        if case .bool(true)? = fields["use_dora"] {
            throw LoRAError.unsupportedAdapter(file: file, key: "\(key): use_dora", kind: "DoRA")
        }
        var configuration = Configuration()
        if let value = try number(fields["r"], "r") { configuration.rank = try rank(value, "r") }
        if let alpha = try number(fields["lora_alpha"], "lora_alpha") { configuration.alpha = Float(alpha) }
        configuration.rankPattern = try pattern("rank_pattern").map { ($0.0, try rank($0.1, "rank_pattern")) }
        configuration.alphaPattern = try pattern("alpha_pattern").map { ($0.0, Float($0.1)) }
        if case .bool(let flag)? = fields["use_rslora"] { configuration.rsLoRA = flag }
        return configuration
    }

    /// The factor PEFT scales `module`'s update by (`up · down` of rank `rank`), or nil when the file configures no
    /// adapter for `component`. Throws `LoRAError.badMetadata` when the configured rank is not the tensors' rank: the
    /// file's tensors and configuration disagree, and no scale is the trained one.
    public func scale(component: LoRAComponent, module: String, rank: Int) throws -> Float? {
        guard let configuration = configurations[component] else { return nil }
        let configuredRank =
            configuration.rankPattern.first { Self.matches($0.pattern, module) }?.rank
            ?? configuration.rank
        let alpha = configuration.alphaPattern.first { Self.matches($0.pattern, module) }?.alpha ?? configuration.alpha
        guard configuredRank == rank, rank > 0 else {
            throw LoRAError.badMetadata(
                file: file,
                reason: "module '\(module)' is configured with rank "
                    + "\(configuredRank) but its tensors have rank \(rank)")
        }
        return configuration.rsLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank)
    }

    /// PEFT's `get_pattern_key` for the patterns diffusers writes (module names, whose dots are regex wildcards):
    /// `pattern` matches `module` itself or a suffix of it that starts after a dot, `.` matching any character.
    static func matches(_ pattern: String, _ module: String) -> Bool {
        let pattern = Array(pattern)
        let module = Array(module)
        func matchesSuffix(from start: Int) -> Bool {
            module.count - start == pattern.count
                && zip(pattern, module[start...]).allSatisfy { $0 == "." || $0 == $1 }
        }
        return matchesSuffix(from: 0)
            || module.indices.dropFirst().contains { module[$0 - 1] == "." && matchesSuffix(from: $0) }
    }
}
