import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The process that writes a temporary file or folder: its id and its start time (clock ticks after boot, from
/// `/proc/<pid>/stat`), which together name one process even after the id is reused. Writers put it in their
/// temporary names (`1234-98765`), so a later writer can tell what a killed process left behind (remove it) from
/// what a running one is writing now (leave it).
public struct WriterProcess: Equatable, Sendable, CustomStringConvertible {
    public let pid: Int32
    /// Nil for names written before start times were recorded: only the id is then compared.
    public let startTime: UInt64?

    public init(pid: Int32, startTime: UInt64?) {
        self.pid = pid
        self.startTime = startTime
    }

    /// This process.
    public static let current = WriterProcess(pid: getpid(), startTime: startTime(of: getpid()))

    /// Parses `pid-start` (or a bare `pid`) as `description` writes it; nil for anything else.
    public init?(_ text: Substring) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let pid = Int32(parts[0]), pid > 0 else { return nil }
        let start = parts.count == 2 ? UInt64(parts[1]) : nil
        guard parts.count == 1 || start != nil else { return nil }
        self.init(pid: pid, startTime: start)
    }

    public var description: String { startTime.map { "\(pid)-\($0)" } ?? "\(pid)" }

    /// Whether the process still runs. It has ended when no process has its id, or when the process with its id
    /// started at another time (the id was reused). When that cannot be told (no `/proc`), it is taken to run, so a
    /// live writer's file is never removed.
    public var isRunning: Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        guard let startTime, let now = Self.startTime(of: pid) else { return true }
        return now == startTime
    }

    /// Field 22 of `/proc/<pid>/stat`, the process's start time; nil where it cannot be read.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // The name in parentheses may hold spaces; the fields after it start with field 3 (the state).
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
