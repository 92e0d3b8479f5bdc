import ArgumentParser
import Foundation
import KinoraPipeline

/// `kinora farm status`: each shard's progress, from the records in the farm's folder.
struct FarmStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the progress of a farm's shards and assembly, from the records in its cache folder.")

    @OptionGroup var options: FarmWorkflowOptions

    @Flag(name: .long, help: "Print the marker and the records as JSON.")
    var json = false

    /// What `--json` prints.
    struct Report: Encodable {
        var marker: FarmMarker
        var shards: [FarmRecord?]
        var assembly: FarmRecord?
    }

    func run() throws {
        let folder = try options.folder()
        guard let marker = try folder.marker() else {
            throw FarmError.notPrepared(farm: folder.name, marker: folder.markerURL.path)
        }
        let shards = try (1...max(marker.shards, 1)).map { index in
            try folder.record(for: ShardIndex(index: index, count: marker.shards))
        }
        let assembly = try folder.record(for: nil)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            let report = Report(marker: marker, shards: shards, assembly: assembly)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        var lines = ["Farm '\(folder.name)' in \(folder.url.path): \(marker.workflow) (\(marker.mode.rawValue)), "
                     + "\(marker.shards) shard\(marker.shards == 1 ? "" : "s"), prepared on \(marker.host) at "
                     + ISO8601DateFormatter().string(from: marker.prepared)]
        if let now = try? FarmVersion.workflowHash(of: URL(fileURLWithPath: marker.workflow), mode: marker.mode),
           now != marker.workflowHash {
            lines.append("The workflow has changed since: shards started now refuse to run; prepare the farm again.")
        }
        for (index, record) in shards.enumerated() {
            lines.append(Self.line("shard \(index + 1)/\(marker.shards)", record))
        }
        lines.append(Self.line("assembly", assembly))
        let done = shards.filter { $0?.state == .done }.count
        lines.append("\(done) of \(marker.shards) shards done" + (assembly?.state == .done ? "; assembled." : "."))
        print(lines.joined(separator: "\n"))
    }

    /// One part's line: state, stages, where, how long, what.
    static func line(_ part: String, _ record: FarmRecord?) -> String {
        let name = part.padding(toLength: 11, withPad: " ", startingAt: 0)
        guard let record else { return "  \(name) not started" }
        var state = record.state.rawValue
        if record.state == .running, record.processRuns == false { state = "stopped" }
        var line = "  \(name) " + state.padding(toLength: 8, withPad: " ", startingAt: 0)
            + " \(record.stagesDone)/\(record.stagesTotal) stages (\(record.stagesComputed) computed)"
            + String(format: ", %.0f s", record.updated.timeIntervalSince(record.started))
            + ", \(record.host) pid \(record.pid)"
        if !record.owners.isEmpty { line += ": " + record.owners.joined(separator: ", ") }
        if record.state == .running, record.processRuns == false {
            line += " (its process is gone: run it again)"
        }
        if let error = record.error { line += "\n    " + error }
        return line
    }
}
