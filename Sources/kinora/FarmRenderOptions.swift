import ArgumentParser
import Foundation
import KinoraPipeline

/// `kinora render`'s options for a render farm: run one shard of a workflow, or assemble the shards' results.
struct FarmRenderOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("""
        Run only the I-th of N shares of the workflow's independent work (shots, voice lines, music cues; I from \
        1), balanced by estimated time, into the cache; write no output and evict nothing (--cache-limit is the \
        assembly's). The farm must have been prepared (kinora farm slurm, or kinora farm init) in the same cache \
        folder.
        """, valueName: "I/N"))
    var shard: String?

    @Flag(name: .long, help: """
        Assemble a farm: check that every shard is done with this workflow, then render, taking their stages from \
        the cache.
        """)
    var assemble = false

    @Option(name: .long, help: ArgumentHelp("""
        Render on several devices of this machine: one shard per device (an index or a name, as --device), each \
        in its own process with that device's memory budget, at the same time, then the assembly here.
        """, valueName: "D,D,..."))
    var devices: String?

    @Option(name: .long, help: "The farm's name (default: the workflow file's name and the mode, as demo-final).")
    var farm: String?

    /// The devices of `--devices`, or nil without it.
    var deviceList: [String]? {
        devices.map { $0.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        } }
    }

    /// The parsed `--shard`, or nil without one.
    func shardIndex() throws -> ShardIndex? {
        guard let shard else { return nil }
        do {
            return try ShardIndex(parsing: shard)
        } catch let error as FarmError {
            throw ValidationError(error.description)
        }
    }

    /// Checks the farm options against the render's: a shard writes no output and needs the cache; the assembly
    /// and `--devices` need the cache; a farm name needs a shard, an assembly or devices.
    func validate(output: String?, noCache: Bool) throws {
        _ = try shardIndex()
        if shard != nil && assemble {
            throw ValidationError("--shard runs one share of a farm and --assemble puts the shares together: give one")
        }
        if shard != nil, output != nil {
            throw ValidationError("--shard writes no output file: give --output to the assembly (--assemble)")
        }
        if (shard != nil || assemble) && noCache {
            throw ValidationError("a farm's shards and assembly meet in the stage cache: they cannot run with "
                                  + "--no-cache")
        }
        if let list = deviceList {
            if list.contains(where: \.isEmpty) {
                throw ValidationError("--devices \(devices ?? ""): name each device, separated by commas (0,1)")
            }
            if shard != nil || assemble {
                throw ValidationError("--devices runs every shard and the assembly itself: give it without --shard "
                                      + "or --assemble")
            }
            if noCache {
                throw ValidationError("--devices renders through the stage cache: it cannot run with --no-cache")
            }
        }
        if farm != nil, shard == nil, !assemble, devices == nil {
            throw ValidationError("--farm names the farm of --shard, --assemble or --devices; give one of them")
        }
    }

    /// The farm folder in `cacheRoot` for `workflow` rendered in `mode`.
    func folder(cacheRoot: URL, workflow: URL, mode: RenderMode) throws -> FarmFolder {
        do {
            return try FarmFolder(cacheRoot: cacheRoot,
                                  name: farm ?? FarmFolder.defaultName(workflow: workflow, mode: mode))
        } catch let error as FarmError {
            throw ValidationError(error.description)
        }
    }
}
