import Foundation

/// GPU time per kernel, summed over every dispatch that command streams time while the profile is enabled.
///
/// Enabling it makes every `CommandStream` bracket its dispatches with timestamp queries (on devices that have
/// them), so a whole model run can be broken down by kernel without changing the code that records it.
public final class DispatchProfile: @unchecked Sendable {
    /// The time spent in one kernel under one label.
    public struct Entry: Sendable, Equatable {
        public var kernel: String
        public var label: String
        public var dispatches: Int
        public var nanoseconds: Double
    }

    private let lock = NSLock()
    private var enabled = false
    private var totals: [String: Entry] = [:]

    public init() {}

    /// Whether command streams are timing their dispatches into this profile.
    public var isEnabled: Bool {
        get { lock.withLock { enabled } }
        set { lock.withLock { enabled = newValue } }
    }

    /// Adds `timings` to the totals (nothing while the profile is disabled).
    public func record(_ timings: [DispatchTiming]) {
        lock.withLock {
            guard enabled else { return }
            for timing in timings {
                let key = timing.kernel + "\u{0}" + timing.label
                var entry = totals[key] ?? Entry(kernel: timing.kernel, label: timing.label, dispatches: 0,
                                                 nanoseconds: 0)
                entry.dispatches += 1
                entry.nanoseconds += timing.nanoseconds
                totals[key] = entry
            }
        }
    }

    /// The totals, largest first.
    public var entries: [Entry] {
        lock.withLock { totals.values.sorted { ($0.nanoseconds, $1.kernel) > ($1.nanoseconds, $0.kernel) } }
    }

    /// Forgets the totals.
    public func reset() {
        lock.withLock { totals.removeAll() }
    }

    /// A table of the `limit` largest entries with their share of the total, then one line for the rest.
    public func report(limit: Int = 25) -> String {
        let all = entries
        let total = all.reduce(0) { $0 + $1.nanoseconds }
        guard total > 0 else { return "profile: no timed dispatches (the device may lack timestamp queries)\n" }
        func padded(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func line(_ kernel: String, _ label: String, _ dispatches: Int, _ nanoseconds: Double) -> String {
            padded(kernel, 36) + " " + padded(label, 28)
                + String(format: " %10d %12.1f %6.1f%%", dispatches, nanoseconds / 1e6, 100 * nanoseconds / total)
        }
        var lines = [padded("kernel", 36) + " " + padded("op", 28) + "  dispatches     total ms   share"]
        for entry in all.prefix(limit) {
            lines.append(line(entry.kernel, entry.label, entry.dispatches, entry.nanoseconds))
        }
        let rest = all.dropFirst(limit)
        if !rest.isEmpty {
            lines.append(line("(\(rest.count) more)", "", rest.reduce(0) { $0 + $1.dispatches },
                              rest.reduce(0) { $0 + $1.nanoseconds }))
        }
        lines.append(line("total", "", all.reduce(0) { $0 + $1.dispatches }, total))
        return lines.joined(separator: "\n") + "\n"
    }
}
