import Foundation
import KinoraTestSupport
import XCTest

/// What the render tests share: reading the report `kinora render` writes next to its output (`NAME.report.json`)
/// and killing a render mid-way.
extension XCTestCase {
    /// The report's stage records, in the order they completed.
    func report(_ output: URL) throws -> [[String: Any]] {
        let url = output.deletingPathExtension().appendingPathExtension("report.json")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try XCTUnwrap(object["stages"] as? [[String: Any]])
    }

    /// The stages the render ran (not from the cache).
    func ranStages(_ output: URL) throws -> Set<String> {
        Set(try report(output).filter { $0["cacheHit"] as? Bool == false }.compactMap { $0["stage"] as? String })
    }

    /// Runs `kinora` with `arguments` (a render with `--progress json`) and kills it (SIGKILL) as soon as a stage for
    /// which `until` holds has finished; returns the stages that finished before, in order, and whether the process
    /// was killed (false when it ended first).
    func renderKilled(_ arguments: [String], until: (String) -> Bool) throws -> (finished: [String], killed: Bool) {
        let process = Process()
        process.executableURL = KinoraCommand.executable
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        var finished: [String] = []
        var buffer = ""
        while process.isRunning, !finished.contains(where: until) {
            let data = stdout.fileHandleForReading.availableData
            if data.isEmpty { break }
            buffer += String(decoding: data, as: UTF8.self)
            while let newline = buffer.firstIndex(of: "\n") {
                let line = Data(buffer[..<newline].utf8)
                buffer = String(buffer[buffer.index(after: newline)...])
                if let event = try JSONSerialization.jsonObject(with: line) as? [String: Any],
                   event["event"] as? String == "stage_finished", let stage = event["stage"] as? String {
                    finished.append(stage)
                }
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return (finished, process.terminationReason == .uncaughtSignal)
    }
}
