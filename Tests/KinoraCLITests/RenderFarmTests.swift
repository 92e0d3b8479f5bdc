import Foundation
import KinoraTestSupport
import XCTest

/// `kinora render --shard` / `--assemble` and `kinora farm` as a user runs them, on the tiny workflow of
/// Tests/Fixtures/workflow: two shards at once into one cache, the assembly, the records and status, the refusals,
/// a killed shard run again, one shard per device (`--devices`), and the Slurm scripts submitted to a stand-in
/// `sbatch`.
final class RenderFarmTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A folder with the tiny workflow (its voice line only when the voice is installed) and its music; returns the
    /// workflow and a cache folder in it.
    private func workspace() throws -> (workflow: URL, cache: URL) {
        let folder = try MediaTools.folder(self, "farm")
        try FileManager.default.createDirectory(at: folder.appending(path: "music"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.repository.appending(path: "examples/music/pad.ogg"),
                                         to: folder.appending(path: "music/pad.ogg"))
        var text = try String(contentsOf: Self.repository.appending(path: "Tests/Fixtures/workflow/tiny.yaml"),
                              encoding: .utf8)
        if !InstalledPiperVoice.isInstalled {
            print("RenderFarmTests: the Piper voice is not installed; rendering without the voice line")
            text = try XCTUnwrap(text.components(separatedBy: "voices:").first) + "music:"
                + (text.components(separatedBy: "music:").last ?? "")
            text = text.replacingOccurrences(of: "  narrator:\n    catalog: piper-vits\n", with: "")
        }
        let workflow = folder.appending(path: "tiny.yaml")
        try Data(text.utf8).write(to: workflow)
        return (workflow, folder.appending(path: "cache"))
    }

    private func kinora(_ arguments: [String]) throws -> KinoraCommand.Outcome {
        try KinoraCommand.run(arguments)
    }

    private func farmFolder(_ cache: URL) -> URL { cache.appending(path: "farm/tiny-final") }

    /// The decoded frames' checksums of one stream kind (`v` or `a`) of `url`, as ffmpeg's framemd5 prints them.
    private func frameChecksums(_ url: URL, _ stream: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/ffmpeg")
        process.arguments = ["-v", "error", "-i", url.path, "-map", "0:\(stream)", "-f", "framemd5", "-"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map(String.init)
    }

    /// Each stage's cache key in the report next to `output`.
    private func keys(_ output: URL) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try report(output).compactMap { record in
            (record["stage"] as? String).flatMap { stage in (record["key"] as? String).map { (stage, $0) } }
        })
    }

    func testTwoShardsAtOnceThenTheAssemblyMakeTheFileOneRenderMakes() throws {
        let (workflow, cache) = try workspace()
        let folder = workflow.deletingLastPathComponent()
        let single = folder.appending(path: "single.mp4")
        let alone = try kinora(["render", workflow.path, "--cache-dir", folder.appending(path: "own-cache").path,
                                "--progress", "none", "-o", single.path])
        XCTAssertEqual(alone.status, 0, alone.error)

        let prepared = try kinora(["farm", "init", workflow.path, "--tasks", "2", "--cache-dir", cache.path])
        XCTAssertEqual(prepared.status, 0, prepared.error)
        XCTAssertTrue(prepared.output.contains("shard 1/2: shots[0]"), prepared.output)
        XCTAssertTrue(prepared.output.contains("--shard 2/2"), prepared.output)
        // A cache limit far below the results: a shard that trimmed the cache as it ended would evict the other's.
        let shards = Outcomes(count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            shards.set(index, try? KinoraCommand.run(["render", workflow.path, "--cache-dir", cache.path, "--shard",
                                                      "\(index + 1)/2", "--progress", "none", "--cache-limit", "1KB"]))
        }
        for (index, outcome) in shards.all.enumerated() {
            let outcome = try XCTUnwrap(outcome)
            XCTAssertEqual(outcome.status, 0, outcome.error)
            XCTAssertTrue(outcome.output.contains("Shard \(index + 1)/2 of farm 'tiny-final'"), outcome.output)
        }
        let output = folder.appending(path: "tiny.mp4")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "shards write no output")
        let shardStages = try (1...2).map { index in
            try ranStages(farmFolder(cache).appending(path: "shard-\(index)-of-2.mp4"))
        }
        XCTAssertTrue(shardStages[0].contains("a/denoise"), "\(shardStages)")
        XCTAssertTrue(shardStages[1].contains("b/denoise"), "\(shardStages)")
        XCTAssertFalse(shardStages.joined().contains { ["video/encode", "audio/mix", "output/mux"].contains($0) })

        let assembled = try kinora(["render", workflow.path, "--cache-dir", cache.path, "--assemble",
                                    "--progress", "none"])
        XCTAssertEqual(assembled.status, 0, assembled.error)
        XCTAssertFalse(assembled.error.contains("computed"), assembled.error)
        XCTAssertEqual(try ranStages(output), ["video/encode", "audio/mix", "output/mux"],
                       "the assembly only joins, mixes and muxes")
        XCTAssertEqual(try keys(output), try keys(single))
        for stream in ["v", "a"] {
            let checksums = try frameChecksums(output, stream)
            XCTAssertFalse(checksums.isEmpty)
            XCTAssertEqual(checksums, try frameChecksums(single, stream), "stream \(stream)")
        }

        let status = try kinora(["farm", "status", workflow.path, "--cache-dir", cache.path])
        XCTAssertEqual(status.status, 0, status.error)
        XCTAssertTrue(status.output.contains("2 of 2 shards done; assembled."), status.output)
        XCTAssertTrue(status.output.contains("shard 1/2   done"), status.output)
        let json = try kinora(["farm", "status", workflow.path, "--cache-dir", cache.path, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let records = try XCTUnwrap(object["shards"] as? [[String: Any]])
        XCTAssertEqual(records.map { $0["state"] as? String }, ["done", "done"])
        XCTAssertEqual(records.map { $0["stagesDone"] as? Int }, records.map { $0["stagesTotal"] as? Int })
    }

    func testBadShardsAndUnpreparedOrChangedFarmsAreRefusedBeforeAnyWork() throws {
        let (workflow, cache) = try workspace()
        let render = ["render", workflow.path, "--cache-dir", cache.path, "--progress", "none"]
        for (arguments, message) in [
            (["--shard", "0/2"], "--shard 0/2: the shard number counts from 1 to 2"),
            (["--shard", "3/2"], "counts from 1 to 2"),
            (["--shard", "1/0"], "the shard count must be at least 1"),
            (["--shard", "two"], "write it as I/N"),
            (["--shard", "1/2", "--no-cache"], "cannot run with --no-cache"),
            (["--shard", "1/2", "-o", "x.mp4"], "--shard writes no output file"),
            (["--shard", "1/2", "--assemble"], "give one"),
            (["--farm", "x"], "--farm names the farm of --shard, --assemble or --devices"),
            (["--shard", "1/2", "--farm", "../up"], "is not a farm name"),
        ] {
            let outcome = try kinora(render + arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(message), "\(arguments): \(outcome.error)")
        }

        let unprepared = try kinora(render + ["--shard", "1/2"])
        XCTAssertNotEqual(unprepared.status, 0)
        XCTAssertTrue(unprepared.error.contains("farm 'tiny-final' was not prepared in this cache folder"),
                      unprepared.error)
        XCTAssertEqual(try kinora(["farm", "init", workflow.path, "--tasks", "2", "--cache-dir", cache.path]).status, 0)
        let count = try kinora(render + ["--shard", "1/3"])
        XCTAssertTrue(count.error.contains("was prepared for 2 shards, not 3"), count.error)
        let early = try kinora(render + ["--assemble"])
        XCTAssertNotEqual(early.status, 0)
        XCTAssertTrue(early.error.contains("not ready to assemble: shard 1/2 has no record"), early.error)
        XCTAssertTrue(early.error.contains("shard 2/2 has no record"), early.error)

        let text = try String(contentsOf: workflow, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "a green hill", with: "a blue hill").utf8).write(to: workflow)
        let edited = try kinora(render + ["--shard", "2/2"])
        XCTAssertNotEqual(edited.status, 0)
        XCTAssertTrue(edited.error.contains("is not the version farm 'tiny-final' was prepared with"), edited.error)
        let status = try kinora(["farm", "status", workflow.path, "--cache-dir", cache.path])
        XCTAssertTrue(status.output.contains("The workflow has changed since"), status.output)
        XCTAssertTrue(status.output.contains("shard 2/2   not started"), status.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: farmFolder(cache).path), ["farm.json"],
                       "no shard ran")
        let other = try kinora(["farm", "status", workflow.path, "--cache-dir", cache.path, "--draft"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.error.contains("farm 'tiny-draft' was not prepared"), other.error)
    }

    func testAShardKilledMidwayIsShownStoppedAndResumesFromItsCachedStages() throws {
        let (workflow, cache) = try workspace()
        XCTAssertEqual(try kinora(["farm", "init", workflow.path, "--tasks", "2", "--cache-dir", cache.path]).status, 0)
        let shard = ["render", workflow.path, "--cache-dir", cache.path, "--shard", "1/2", "--progress", "json"]
        let (finished, killed) = try renderKilled(shard) { $0 == "a/denoise" }
        XCTAssertTrue(killed, "the shard was killed before it finished")
        XCTAssertTrue(finished.contains("a/denoise"), "\(finished)")
        let status = try kinora(["farm", "status", workflow.path, "--cache-dir", cache.path])
        XCTAssertTrue(status.output.contains("shard 1/2   stopped"), status.output)
        XCTAssertTrue(status.output.contains("its process is gone"), status.output)

        let again = try kinora(Array(shard.dropLast()) + ["none"])
        XCTAssertEqual(again.status, 0, again.error)
        let ran = try ranStages(farmFolder(cache).appending(path: "shard-1-of-2.mp4"))
        XCTAssertTrue(ran.isDisjoint(with: finished), "ran \(ran) again after \(finished) had finished")
        XCTAssertFalse(ran.isEmpty)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: farmFolder(cache).appending(path: "shard-1-of-2.json"))) as? [String: Any])
        XCTAssertEqual(record["state"] as? String, "done")
        XCTAssertEqual(record["stagesComputed"] as? Int, ran.count)
    }

    func testDevicesRunAShardEachThenTheRenderAssemblesAndAFailedDeviceIsNamed() throws {
        let (workflow, cache) = try workspace()
        let render = ["render", workflow.path, "--cache-dir", cache.path, "--progress", "none"]
        for (arguments, message) in [
            (["--devices", "cpu,,cpu"], "name each device"),
            (["--devices", "cpu", "--shard", "1/1"], "without --shard or --assemble"),
            (["--devices", "cpu", "--no-cache"], "cannot run with --no-cache"),
            (["--devices", "cpu", "--device", "cpu"], "--device cannot be given with it"),
        ] {
            let outcome = try kinora(render + arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertTrue(outcome.error.contains(message), "\(arguments): \(outcome.error)")
        }

        let failed = try kinora(render + ["--devices", "cpu,no-such-device"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.error.contains("shard 2/2 on device no-such-device failed (exit status 1)"), failed.error)
        XCTAssertTrue(failed.error.contains("no device matches 'no-such-device'"), failed.error)
        let output = workflow.deletingLastPathComponent().appending(path: "tiny.mp4")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "no assembly after a failed shard")

        let outcome = try kinora(render + ["--devices", "cpu,cpu"])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.output.contains("Shard 1/2 on device cpu: started"), outcome.output)
        XCTAssertTrue(outcome.output.contains("Shard 2/2 on device cpu: done"), outcome.output)
        XCTAssertEqual(try ranStages(output), ["video/encode", "audio/mix", "output/mux"])
        XCTAssertEqual(try ranStages(farmFolder(cache).appending(path: "shard-1-of-2.mp4")), [],
                       "shard 1 had finished in the failed run: all from the cache")
        XCTAssertFalse(try ranStages(farmFolder(cache).appending(path: "shard-2-of-2.mp4")).isEmpty)
        let log = try String(contentsOf: farmFolder(cache).appending(path: "logs/shard-2-of-2.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("Shard 2/2 of farm 'tiny-final'"), log)
        let status = try kinora(["farm", "status", workflow.path, "--cache-dir", cache.path])
        XCTAssertTrue(status.output.contains("2 of 2 shards done; assembled."), status.output)
    }

    func testFarmSlurmWritesTheScriptsAndSubmitsTheArrayThenTheAssemblyAfterIt() throws {
        let (workflow, cache) = try workspace()
        let bin = workflow.deletingLastPathComponent().appending(path: "bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let calls = bin.appending(path: "calls.txt")
        // A stand-in sbatch: records its arguments, prints an id (the second with a cluster name, as federations do).
        let sbatch = bin.appending(path: "sbatch")
        try Data("""
            #!/bin/bash
            echo "$*" >> '\(calls.path)'
            if [ "$(wc -l < '\(calls.path)')" -eq 1 ]; then echo 4242; else echo '4243;cluster'; fi

            """.utf8).write(to: sbatch)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: sbatch.path)
        let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let outcome = try KinoraCommand.run(["farm", "slurm", workflow.path, "--tasks", "3", "--partition", "gpu",
                                             "--cache-dir", cache.path, "--submit"], environment: ["PATH": path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        XCTAssertTrue(outcome.output.contains("Submitted the shards as job 4242 (array 0-2) and the assembly as job "
                                              + "4243"), outcome.output)
        let scripts = farmFolder(cache)
        XCTAssertEqual(try String(contentsOf: calls, encoding: .utf8).split(separator: "\n"), [
            "--parsable \(scripts.appending(path: "shards.sbatch").path)",
            "--parsable --dependency=afterok:4242 \(scripts.appending(path: "assemble.sbatch").path)",
        ])
        let shards = try String(contentsOf: scripts.appending(path: "shards.sbatch"), encoding: .utf8)
        XCTAssertTrue(shards.contains("#SBATCH --array=0-2\n"), shards)
        XCTAssertTrue(shards.contains("#SBATCH --gres=gpu:1\n"), shards)
        XCTAssertTrue(shards.contains("#SBATCH --partition=gpu\n"), shards)
        let executable = KinoraCommand.executable.resolvingSymlinksInPath().path
        XCTAssertTrue(shards.contains("exec \(executable) render \(workflow.path) --cache-dir \(cache.path) "
                                      + "--farm tiny-final --shard \"$((SLURM_ARRAY_TASK_ID + 1))/3\""), shards)
        XCTAssertTrue(FileManager.default.fileExists(atPath: scripts.appending(path: "logs").path))
        let marker = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: scripts.appending(path: "farm.json"))) as? [String: Any])
        XCTAssertEqual(marker["shards"] as? Int, 3)

        // sbatch refusing the job is the command's failure, with what sbatch said.
        try Data("#!/bin/bash\necho 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n".utf8)
            .write(to: sbatch)
        let refused = try KinoraCommand.run(["farm", "slurm", workflow.path, "--tasks", "3", "--cache-dir",
                                             cache.path, "--submit"], environment: ["PATH": path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("invalid partition specified"), refused.error)
        let written = try KinoraCommand.run(["farm", "slurm", workflow.path, "--gpus-per-task", "0", "--cache-dir",
                                             cache.path, "--partition", "two words"])
        XCTAssertNotEqual(written.status, 0)
        XCTAssertTrue(written.error.contains("cannot be written on an #SBATCH line"), written.error)
    }
}

/// The outcomes of commands run at the same time, each stored under its index.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [KinoraCommand.Outcome?]

    init(count: Int) { outcomes = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ outcome: KinoraCommand.Outcome?) {
        lock.lock()
        defer { lock.unlock() }
        outcomes[index] = outcome
    }

    var all: [KinoraCommand.Outcome?] {
        lock.lock()
        defer { lock.unlock() }
        return outcomes
    }
}
