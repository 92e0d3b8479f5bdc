import Foundation

/// Committed fixtures of the tensor tests.
enum Fixture {
    /// The path of a committed fixture under `Tests/Fixtures`.
    static func url(_ path: String) -> URL {
        URL(filePath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "Fixtures").appending(path: path)
    }
}
