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
    public static var executable: URL {
        var directory = Bundle(for: Marker.self).bundleURL
        while directory.pathComponents.count > 1
            && !FileManager.default.fileExists(atPath: directory.appending(path: "kinora").path) {
            directory.deleteLastPathComponent()
        }
        return directory.appending(path: "kinora")
    }

    /// Runs `kinora arguments` to completion. `input`, when given, is written to its standard input, which is then
    /// closed; without it the command reads an empty standard input.
    public static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws
        -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), error = Pipe(), standardInput = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = standardInput
        try process.run()
        let errorData = Drain(error.fileHandleForReading)
        standardInput.fileHandleForWriting.write(Data((input ?? "").utf8))
        try standardInput.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                       error: String(decoding: errorData.wait(), as: UTF8.self))
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
