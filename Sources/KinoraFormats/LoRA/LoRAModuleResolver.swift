import Foundation

/// Finds the model weight a LoRA module name adapts, among the weights of one model part. A dotted name matches a
/// module of the same name; a flattened (kohya) name matches the module whose dots, made underscores, spell it,
/// which is how kohya derived it. Flattened names two modules share are ambiguous and match neither.
public struct LoRAModuleResolver: Sendable {
    private let modules: Set<String>
    private let flattenedModules: [String: String]

    /// `weightNames` are the model part's tensor names (`down_blocks.0.attentions.0.proj_in.weight`); the modules
    /// are the names of its `.weight` tensors without that suffix.
    public init(weightNames: [String]) {
        let modules = weightNames.filter { $0.hasSuffix(".weight") }.map { String($0.dropLast(".weight".count)) }
        self.modules = Set(modules)
        var flattened: [String: String?] = [:]
        for module in modules {
            let key = Self.flatten(module)
            flattened[key] = flattened[key] == nil ? module : .some(nil)
        }
        flattenedModules = flattened.compactMapValues { $0 }
    }

    /// The weight tensor (`<module>.weight`) that `module` names, or nil.
    public func weight(for module: String, flattened: Bool) -> String? {
        let match = flattened ? flattenedModules[Self.flatten(module)] : modules.contains(module) ? module : nil
        return match.map { $0 + ".weight" }
    }

    /// `module` with every dot an underscore, as kohya names modules.
    public static func flatten(_ module: String) -> String {
        module.replacingOccurrences(of: ".", with: "_")
    }
}
