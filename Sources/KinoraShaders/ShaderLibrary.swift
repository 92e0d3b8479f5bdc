import Foundation

/// The compute shaders compiled from `shaders/` at build time, embedded as SPIR-V.
///
/// Each variant of a shader source (one per line of `// variant:` in its header) is one entry,
/// named `<file stem>` or `<file stem>.<variant>`.
public enum ShaderLibrary {
    /// The SPIR-V words of the named shader variant, or nil when no such variant was compiled.
    public static func spirv(named name: String) -> [UInt32]? {
        guard let base64 = EmbeddedShaders.base64[name], let data = Data(base64Encoded: base64) else { return nil }
        return data.withUnsafeBytes { raw in Array(raw.bindMemory(to: UInt32.self)) }
    }

    /// The names of every compiled shader variant, sorted.
    public static var names: [String] { EmbeddedShaders.base64.keys.sorted() }
}
