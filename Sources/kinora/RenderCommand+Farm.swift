import Foundation
import KinoraGPU
import KinoraPipeline

/// `kinora render --shard I/N` and `--assemble`: one share of a farmed render into the shared cache, and the render
/// that puts the shares together.
extension RenderCommand {
    /// The workflow file's absolute path.
    var workflowURL: URL { URL(fileURLWithPath: workflow).standardizedFileURL }

    /// Runs `shard`'s share of `preparation`'s work: the stages its units own and their inputs, planned on their
    /// own (so only their models are loaded), into the cache at `cacheRoot`, which it never trims. Writes no output
    /// file; the farm's record of the shard is kept up to date and its report goes into the farm's folder.
    func runShard(_ shard: ShardIndex, preparation: RenderPreparation, device: GPUDevice, cacheRoot: URL,
                  started: Double) throws {
        let farm = try farmOptions.folder(cacheRoot: cacheRoot, workflow: workflowURL, mode: preparation.graph.mode)
        let version = try FarmVersion(workflow: workflowURL, graph: preparation.graph)
        try farm.admit(shard, version: version, workflow: workflowURL)
        let partition = ShardPartition(graph: preparation.graph, count: shard.count)
        let owners = partition.owners(of: shard)
        let graph = preparation.graph.restricted(toOwners: owners)
        let plan = try Planner(device: preparation.plan.device).plan(graph)
        let recorder = try FarmProgressRecorder(
            record: FarmRecord(farm: farm.name, shard: shard, workflow: workflowURL.path, mode: graph.mode,
                               version: version, owners: owners, stagesTotal: graph.stages.count),
            folder: farm)
        let report: RenderReport
        let runner = makeRunner(preparation, device: device)
        do {
            // No size limit: trimming the cache when the shard ends could evict the other shards' results before
            // the assembly reads them. The assembly trims it to its limit.
            let cache = try StageCache(root: cacheRoot)
            report = try RenderExecutor(graph: graph, plan: plan, runner: runner, cache: cache,
                                        progress: sinks() + [recorder]).run()
        } catch {
            try? recorder.fail(error)
            throw error
        }
        Self.warn(runner.warnings)
        let timingsURL = cacheRoot.appendingPathComponent(TimeCalibration.fileName)
        // Read again just before adding to it: the other shards store theirs as they finish.
        var calibration = TimeCalibration.load(from: timingsURL)
        Self.storeTimings(of: report, plan: plan, graph: graph, device: device, calibration: &calibration,
                          at: timingsURL)
        let files = try report.write(besides: farm.reportStem(for: shard))
        try recorder.finish()
        let seconds = ProcessInfo.processInfo.systemUptime - started
        let work = owners.isEmpty
            ? "no work (the workflow has \(partition.units.count) independent items for \(shard.count) shards)"
            : owners.joined(separator: ", ")
        let lines = [
            "Shard \(shard) of farm '\(farm.name)': \(work)",
            report.summary(),
            String(format: "Planned in %.0f ms; %.1f s in all.", preparation.seconds * 1000, seconds),
            "Report: \(files.json.path)", "Record: \(farm.recordURL(for: shard).path)",
        ]
        note(lines.joined(separator: "\n"))
    }

    /// Checks that every shard of the farm is done with this workflow and returns the assembly's record keeper.
    func startAssembly(_ preparation: RenderPreparation, cacheRoot: URL) throws -> FarmProgressRecorder {
        let farm = try farmOptions.folder(cacheRoot: cacheRoot, workflow: workflowURL, mode: preparation.graph.mode)
        let version = try FarmVersion(workflow: workflowURL, graph: preparation.graph)
        try farm.admitAssembly(version: version, workflow: workflowURL)
        return try FarmProgressRecorder(
            record: FarmRecord(farm: farm.name, shard: nil, workflow: workflowURL.path, mode: preparation.graph.mode,
                               version: version, owners: [], stagesTotal: preparation.graph.stages.count),
            folder: farm)
    }

    /// Records the assembly as done, warning when it computed stages the shards should have left in the cache
    /// (their entries were gone: evicted by another process's `--cache-limit`, or removed).
    func finishAssembly(_ recorder: FarmProgressRecorder, report: RenderReport, graph: StageGraph) throws {
        let units = ShardPartition(graph: graph, count: 1).units.map(\.owner)
        let shardStages = Set(graph.restricted(toOwners: units).stages.map(\.id))
        let again = report.stages.filter { !$0.cacheHit && shardStages.contains($0.stage) }.map(\.stage)
        if !again.isEmpty {
            Self.warn(["the assembly computed \(again.count) of the shards' stages again (their cache entries were "
                       + "gone; is --cache-limit large enough for the whole render?): "
                       + again.joined(separator: ", ")])
        }
        try recorder.finish()
    }
}
