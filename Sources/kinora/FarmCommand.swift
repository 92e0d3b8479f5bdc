import ArgumentParser
import Foundation
import KinoraPipeline

/// `kinora farm`: one workflow rendered by several processes, machines or Slurm jobs that share a stage cache.
struct FarmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "farm",
        abstract: "Render a workflow on several GPUs or machines (Slurm) that share the stage cache.",
        discussion: """
            A farm splits a workflow's independent work (each shot, voice line and music cue) into N shards \
            balanced by estimated time. Each shard (kinora render --shard I/N) computes its share into a cache \
            folder every machine shares; the assembly (kinora render --assemble) then finds it all cached and only \
            joins the cut, mixes and muxes. `farm slurm` writes and submits the jobs; `farm init` prepares a farm \
            whose shards you start yourself; `farm status` shows each shard's progress.
            """,
        subcommands: [FarmSlurmCommand.self, FarmInitCommand.self, FarmStatusCommand.self])
}

/// The options every `kinora farm` command shares: which workflow, mode, cache folder and farm.
struct FarmWorkflowOptions: ParsableArguments {
    @Argument(help: "The workflow file (YAML).")
    var workflow: String

    @Flag(name: .long, help: "The farm renders the draft (each shot's workhorse settings).")
    var draft = false

    @Option(name: .long, help: """
        The stage cache folder, on a filesystem every machine of the farm shares (default: render's, \
        $XDG_CACHE_HOME/kinora or ~/.cache/kinora).
        """)
    var cacheDir: String?

    @Option(name: .long, help: "The farm's name (default: the workflow file's name and the mode, as demo-final).")
    var farm: String?

    @Option(name: .long, help: "A models folder to search (ComfyUI layout works); repeatable. Also $KINORA_MODELS.")
    var modelsDir: [String] = []

    var mode: RenderMode { draft ? .draft : .final }

    /// The workflow file's absolute path.
    var workflowURL: URL { URL(fileURLWithPath: workflow).standardizedFileURL }

    /// The cache folder's absolute path.
    var cacheRoot: URL {
        (cacheDir.map { URL(fileURLWithPath: $0) } ?? StageCache.defaultFolder()).standardizedFileURL
    }

    func folder() throws -> FarmFolder {
        do {
            return try FarmFolder(cacheRoot: cacheRoot, name: farm ?? FarmFolder.defaultName(workflow: workflowURL,
                                                                                               mode: mode))
        } catch let error as FarmError {
            throw ValidationError(error.description)
        }
    }
}

/// A farm prepared in its folder: the workflow read and split, the marker written.
struct FarmSetup {
    var folder: FarmFolder
    var marker: FarmMarker
    var partition: ShardPartition

    /// Reads and checks the workflow (its models are located, nothing runs), splits it into `tasks` shards (one per
    /// independent item when nil) and writes the farm's marker, replacing an earlier preparation's records.
    static func prepare(_ options: FarmWorkflowOptions, tasks: Int?) throws -> FarmSetup {
        if let tasks, tasks < 1 { throw ValidationError("--tasks \(tasks): a farm has at least one shard") }
        let folder = try options.folder()
        // Device memory plays no part in the split; the plan is only made for the preparation to complete.
        let preparation = try RenderPreparation.prepare(workflow: options.workflowURL.path, mode: options.mode,
                                                        modelsDirs: options.modelsDir, budgetBytes: 1 << 50)
        RenderCommand.warn(preparation.workflow.warnings.map(\.description))
        let units = ShardPartition(graph: preparation.graph, count: 1).units.count
        let count = tasks ?? max(units, 1)
        let marker = FarmMarker(farm: folder.name, workflow: options.workflowURL.path, mode: options.mode,
                                workflowHash: try FarmVersion.workflowHash(of: options.workflowURL,
                                                                           mode: options.mode),
                                shards: count, host: FarmRecord.currentHost, prepared: Date())
        try folder.prepare(marker)
        return FarmSetup(folder: folder, marker: marker, partition: ShardPartition(graph: preparation.graph,
                                                                                   count: count))
    }

    /// What was prepared, and each shard's share.
    func summary() -> [String] {
        var lines = ["Prepared farm '\(folder.name)' in \(folder.url.path): \(marker.workflow) "
                     + "(\(marker.mode.rawValue)) in \(marker.shards) shard\(marker.shards == 1 ? "" : "s")."]
        for index in 1...marker.shards {
            guard let shard = try? ShardIndex(index: index, count: marker.shards) else { continue }
            let owners = partition.owners(of: shard)
            lines.append("  shard \(shard): " + (owners.isEmpty ? "no work" : owners.joined(separator: ", "))
                         + " (estimated \(Self.seconds(partition.estimatedSeconds(of: shard))) on the reference GPU)")
        }
        return lines
    }

    /// `seconds` to two significant digits below a tenth (tiny models' estimates), else to a tenth.
    static func seconds(_ seconds: Double) -> String {
        String(format: seconds < 0.1 ? "%.2g s" : "%.1f s", seconds)
    }

    /// The `kinora` executable's absolute path (what `/proc/self/exe` links to).
    static var executable: String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? "kinora").standardizedFileURL.path
    }
}
