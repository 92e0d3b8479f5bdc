import Foundation

/// Finds the project's own `models/` folder (the catalog, and the tiny models the demo ships with): the folder in
/// `KINORA_CATALOG` when set, else the first `models/` holding catalog entries in a folder above the running
/// executable (a build under `.build/` finds the checkout's), else above the current directory.
public enum BundledCatalog {
    /// The environment variable that names the catalog folder.
    public static let environmentVariable = "KINORA_CATALOG"

    /// The catalog folder, or nil when none is found.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: URL = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
                                  .resolvingSymlinksInPath(),
                              currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        -> URL? {
        if let path = environment[environmentVariable], !path.isEmpty { return URL(fileURLWithPath: path) }
        for start in [executable.deletingLastPathComponent(), currentDirectory] {
            var folder = start.standardizedFileURL
            while true {
                let candidate = folder.appendingPathComponent("models")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("sd15.yaml").path) {
                    return candidate
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        return nil
    }
}
