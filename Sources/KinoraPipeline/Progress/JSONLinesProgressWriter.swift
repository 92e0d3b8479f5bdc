import Foundation

/// `--progress json`: each event as one compact JSON object on its own line, flushed as it happens, for tools that
/// drive Kinora.
public final class JSONLinesProgressWriter: ProgressSink {
    private let write: (String) -> Void
    private let encoder: JSONEncoder

    /// Writes each line (with its newline) through `write`; by default to standard output.
    public init(write: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.write = write
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    public func receive(_ event: ProgressEvent) {
        guard let data = try? encoder.encode(event), let line = String(data: data, encoding: .utf8) else { return }
        write(line + "\n")
    }
}
