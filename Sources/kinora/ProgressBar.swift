import Foundation

/// A one-line progress bar on standard error: step i/N, iterations per second and the time left. Redrawn in place
/// on a terminal; one line per update otherwise (logs, pipes).
final class ProgressBar {
    private let label: String
    private let start = Date()
    private let interactive = isatty(STDERR_FILENO) != 0

    init(label: String) {
        self.label = label
    }

    func update(_ step: Int, of total: Int) {
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(step) / elapsed : 0
        let remaining = rate > 0 ? Double(total - step) / rate : 0
        let width = 24
        let filled = total > 0 ? width * step / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ %@ %d/%d  %.2f it/s  ETA %@", label, bar, step, total, rate,
                          Self.clock(remaining))
        FileHandle.standardError.write(Data((interactive ? "\r\(line)" : "\(line)\n").utf8))
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}
