import Foundation

/// A farm's folder in the shared stage cache, `<cache>/farm/<name>/`: its marker (`farm.json`), one record per
/// shard (`shard-2-of-4.json`) and the assembly's (`assembly.json`), each written whole under a temporary name and
/// renamed; the shards' render reports; and, from `kinora farm slurm`, the job scripts and their logs. It checks a
/// shard or an assembly against the marker and the other parts' records before anything runs.
public struct FarmFolder: Sendable {
    public let name: String
    public let url: URL

    /// The farm `name` in the cache at `cacheRoot`; throws `FarmError.invalidName` unless `name` is one plain file
    /// name.
    public init(cacheRoot: URL, name: String) throws {
        guard Self.isValidName(name) else { throw FarmError.invalidName(name) }
        self.name = name
        url = cacheRoot.appendingPathComponent("farm").appendingPathComponent(name)
    }

    /// The name a farm gets when none is given: the workflow file's name without its extension, and the mode
    /// (`demo-final`), with characters a name cannot hold replaced by `_`.
    public static func defaultName(workflow: URL, mode: RenderMode) -> String {
        let stem = workflow.deletingPathExtension().lastPathComponent
        let cleaned = String(stem.map { Self.allowed($0) ? $0 : "_" }).drop { $0 == "." }
        return (cleaned.isEmpty ? "workflow" : String(cleaned)) + "-" + mode.rawValue
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".") && name.allSatisfy(allowed)
    }

    private static func allowed(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "._-".contains(character))
    }

    public var markerURL: URL { url.appendingPathComponent("farm.json") }

    /// The record of `shard`, or of the assembly when nil.
    public func recordURL(for shard: ShardIndex?) -> URL {
        url.appendingPathComponent((shard?.fileStem ?? "assembly") + ".json")
    }

    /// Where `shard`'s render report goes (`shard-2-of-4.report.json` and `.report.txt`, by `RenderReport`).
    public func reportStem(for shard: ShardIndex) -> URL {
        url.appendingPathComponent(shard.fileStem)
    }

    /// Writes `marker`, replacing an earlier preparation: the records and reports of an earlier run of the farm are
    /// removed first (their versions and shard counts belong to that run).
    public func prepare(_ marker: FarmMarker) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path)
            where (name.hasPrefix("shard-") || name.hasPrefix("assembly.")) && name.contains(".") {
                try FileManager.default.removeItem(at: url.appendingPathComponent(name))
            }
        } catch {
            throw FarmError.storage(path: url.path, reason: error.localizedDescription)
        }
        try write(marker, to: markerURL)
    }

    /// The marker, or nil when there is none.
    public func marker() throws -> FarmMarker? {
        try read(FarmMarker.self, from: markerURL)
    }

    /// The record of `shard` (the assembly's when nil), or nil when there is none.
    public func record(for shard: ShardIndex?) throws -> FarmRecord? {
        try read(FarmRecord.self, from: recordURL(for: shard))
    }

    /// Writes `record` whole (a temporary file renamed over the last one).
    public func write(_ record: FarmRecord) throws {
        try write(record, to: recordURL(for: record.shard))
    }

    /// The marker, checked against a part of `version` about to run as `shard` (nil: the assembly): it must be there
    /// (else this machine does not see the folder the farm was prepared in), of the same shard count and workflow
    /// version. Throws the `FarmError` that says what is wrong.
    public func checkedMarker(version: FarmVersion, shard: ShardIndex?, workflow: URL) throws -> FarmMarker {
        guard let marker = try marker() else {
            throw FarmError.notPrepared(farm: name, marker: markerURL.path)
        }
        if let shard, shard.count != marker.shards {
            throw FarmError.shardCount(farm: name, prepared: marker.shards, shard: shard)
        }
        guard marker.workflowHash == version.workflowHash else {
            throw FarmError.workflowChanged(farm: name, workflow: workflow.path, prepared: marker.workflowHash,
                                            found: version.workflowHash)
        }
        return marker
    }

    /// Checks that `shard` of `version` may run: the marker as `checkedMarker` checks it, and every other shard's
    /// record (there may be none yet) of the same workflow and work.
    public func admit(_ shard: ShardIndex, version: FarmVersion, workflow: URL) throws {
        let marker = try checkedMarker(version: version, shard: shard, workflow: workflow)
        for index in 1...marker.shards where index != shard.index {
            guard let record = try record(for: ShardIndex(index: index, count: marker.shards)) else { continue }
            try check(record, against: version)
        }
    }

    /// Checks that the shards of the farm are all done, with `version`, before the assembly runs: every problem
    /// (a record missing, a shard failed or still running) is listed in one `FarmError.notReady`.
    public func admitAssembly(version: FarmVersion, workflow: URL) throws {
        let marker = try checkedMarker(version: version, shard: nil, workflow: workflow)
        var problems: [String] = []
        for index in 1...max(marker.shards, 1) {
            let shard = try ShardIndex(index: index, count: marker.shards)
            guard let record = try record(for: shard) else {
                problems.append("shard \(shard) has no record in \(url.path) (it has not run, or it ran with a cache "
                                + "folder this machine does not see)")
                continue
            }
            try check(record, against: version)
            switch record.state {
            case .done:
                continue
            case .failed:
                problems.append("shard \(shard) failed on \(record.host)"
                                + (record.error.map { ": \($0)" } ?? ""))
            case .running:
                problems.append(record.processRuns == false
                                ? "shard \(shard) stopped on \(record.host) before it finished (process \(record.pid) "
                                    + "is gone); run it again"
                                : "shard \(shard) is still running on \(record.host) (process \(record.pid))")
            }
        }
        guard problems.isEmpty else { throw FarmError.notReady(farm: name, problems: problems) }
    }

    /// Throws `FarmError.otherVersion` when `record` is of another workflow or work than `version`.
    private func check(_ record: FarmRecord, against version: FarmVersion) throws {
        if record.workflowHash != version.workflowHash {
            throw FarmError.otherVersion(farm: name, part: record.part, host: record.host, what: .workflow)
        }
        if record.workHash != version.workHash {
            throw FarmError.otherVersion(farm: name, part: record.part, host: record.host, what: .work)
        }
    }

    private func read<Value: Decodable>(_ type: Value.Type, from file: URL) throws -> Value? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(type, from: Data(contentsOf: file))
        } catch {
            throw FarmError.storage(path: file.path, reason: "cannot read it: \(error)")
        }
    }

    private func write(_ value: some Encodable, to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try encoder.encode(value).write(to: file, options: .atomic)
        } catch {
            throw FarmError.storage(path: file.path, reason: "cannot write it: \(error.localizedDescription)")
        }
    }
}
