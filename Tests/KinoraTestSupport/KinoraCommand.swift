import Foundation

/// The built `kinora` executable, run as a user runs it: arguments, extra environment and standard input in; exit
/// status and both output streams out. The two streams are drained concurrently, so a command that writes a lot to
/// one of them while the test waits on the other cannot fill a pipe and stall.
public enum KinoraCommand {
    /// What one run left behind.
    public struct Outcome: Sendable {
        public var status: Int32
        public var output: String
        public var error: String
    }

    /// The executable SwiftPM built next to the test bundle.
    public static var executable: URL { executable(named: "kinora") }

    /// The executable `name` (`kinora`, `kinora-gpu-check`) SwiftPM built next to the test bundle.
    public static func executable(named name: String) -> URL {
        var directory = Bundle(for: Marker.self).bundleURL
        while directory.pathComponents.count > 1
            && !FileManager.default.fileExists(atPath: directory.appending(path: name).path) {
            directory.deleteLastPathComponent()
        }
        return directory.appending(path: name)
    }

    /// A run that did not finish within its time limit: the command was killed, and the test fails with what it
    /// had printed, rather than hanging the whole suite.
    public struct TimedOut: Error, CustomStringConvertible {
        public var arguments: [String]
        public var seconds: Double
        public var output: String
        public var error: String
        public var description: String {
            "kinora \(arguments.joined(separator: " ")) did not finish within \(seconds) s and was killed; it printed "
                + "'\(output)' and on standard error '\(error)'"
        }
    }

    /// How long a run may take by default: far more than any test's command needs on lavapipe.
    public static let defaultTimeout: Double = 600

    /// Runs `program arguments` to completion. `input`, when given, is written to its standard input, which is then
    /// closed; without it the command reads an empty standard input. A command still running after `timeout`
    /// seconds is killed and `TimedOut` thrown.
    public static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil,
                           timeout: Double = defaultTimeout, program: String = "kinora") throws -> Outcome {
        let process = Process()
        process.executableURL = executable(named: program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), error = Pipe(), standardInput = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = standardInput
        try process.run()
        let watchdog = Watchdog(process, after: timeout)
        let errorData = Drain(error.fileHandleForReading)
        standardInput.fileHandleForWriting.write(Data((input ?? "").utf8))
        try standardInput.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let outcome = Outcome(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                              error: String(decoding: errorData.wait(), as: UTF8.self))
        guard !watchdog.finish() else {
            throw TimedOut(arguments: arguments, seconds: timeout, output: outcome.output, error: outcome.error)
        }
        return outcome
    }

    /// Kills a process that is still running after its time limit; `finish()` stops the watch and says whether
    /// it fired.
    private final class Watchdog: @unchecked Sendable {
        private let lock = NSLock()
        private var fired = false
        private var stopped = false

        init(_ process: Process, after seconds: Double) {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
                lock.lock()
                defer { lock.unlock() }
                // A process still running has not been reaped, so its pid is still the command's.
                guard !stopped, process.isRunning else { return }
                fired = true
                kill(pid, SIGKILL)
            }
        }

        func finish() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            stopped = true
            return fired
        }
    }

    /// Reads a stream to its end on a thread of its own.
    private final class Drain: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }

        func wait() -> Data {
            done.wait()
            return data
        }
    }

    private final class Marker {}
}
