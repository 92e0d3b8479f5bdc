import ArgumentParser
import Foundation
import KinoraPipeline

/// `kinora farm init`: prepare a farm whose shards are started by hand (or by another scheduler).
struct FarmInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Prepare a farm in a shared cache folder and print the command of each shard and of the assembly.",
        discussion: """
            Writes the farm's marker (the workflow's version and the shard count) into <cache>/farm/<name>/, \
            replacing an earlier run's records. Run the printed shard commands anywhere the cache folder is \
            shared, at the same time or not, then the assembly.

            Example: kinora farm init examples/demo.yaml --tasks 2 --cache-dir /shared/kinora
            """)

    @OptionGroup var options: FarmWorkflowOptions

    @Option(name: .long, help: "How many shards (default: one per shot, voice line and music cue).")
    var tasks: Int?

    func run() throws {
        let setup = try FarmSetup.prepare(options, tasks: tasks)
        var render = [FarmSetup.executable, "render", options.workflowURL.path, "--cache-dir",
                      options.cacheRoot.path, "--farm", setup.folder.name].map(ShellWord.quoted)
        if options.draft { render.append("--draft") }
        for folder in options.modelsDir { render += ["--models-dir", ShellWord.quoted(folder)] }
        var lines = setup.summary() + ["Run each shard:"]
        for index in 1...setup.marker.shards {
            lines.append("  " + (render + ["--shard", "\(index)/\(setup.marker.shards)"]).joined(separator: " "))
        }
        lines += ["then the assembly:", "  " + (render + ["--assemble"]).joined(separator: " ")]
        print(lines.joined(separator: "\n"))
    }
}
