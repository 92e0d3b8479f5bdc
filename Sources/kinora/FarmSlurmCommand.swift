import ArgumentParser
import Foundation
import KinoraPipeline

/// `kinora farm slurm`: a farm as a Slurm array job of shards and an assembly job that waits for all of them.
struct FarmSlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Write (and with --submit, submit) a Slurm array job of shards and the assembly job after it.",
        discussion: """
            Prepares the farm (as farm init) and writes two batch scripts into <cache>/farm/<name>/: shards.sbatch, \
            an array of N tasks where task T runs kinora render --shard (T+1)/N, and assemble.sbatch, which runs \
            kinora render --assemble. Their logs go to the logs folder beside them. With --submit it runs \
            sbatch --parsable on the array, then sbatch --dependency=afterok:<array id> on the assembly, and prints \
            both job ids. The cache folder must be on a filesystem every node sees. Each task sees the GPU Slurm \
            gives it when the cluster confines devices (ConstrainDevices=yes in cgroup.conf); otherwise set \
            KINORA_DEVICE.

            Example: kinora farm slurm examples/demo.yaml --tasks 8 --partition gpu --cache-dir /shared/kinora \
            --submit
            """)

    @OptionGroup var options: FarmWorkflowOptions

    @Option(name: .long, help: "How many shards: the array's tasks (default: one per shot, voice line and cue).")
    var tasks: Int?

    @Option(name: .long, help: "GPUs each task asks for (--gres=gpu:G); 0 for none.")
    var gpusPerTask = 1

    @Option(name: .long, help: "CPUs each task asks for (default: the cluster's).")
    var cpusPerTask: Int?

    @Option(name: .long, help: "The Slurm partition the jobs run in (default: the cluster's).")
    var partition: String?

    @Option(name: .long, help: "Each job's time limit, as Slurm writes it (2:00:00).")
    var time: String?

    @Option(name: .shortAndLong, help: "The assembly's output file (default: the workflow's output.file).")
    var output: String?

    @Option(name: .long, help: """
        The most the cache may hold once the assembly ends (render's --cache-limit; shards never trim it).
        """)
    var cacheLimit: String?

    @Flag(name: .long, help: "Submit the jobs with sbatch and print their ids.")
    var submit = false

    func validate() throws {
        if gpusPerTask < 0 { throw ValidationError("--gpus-per-task \(gpusPerTask) is negative") }
        if let cpusPerTask, cpusPerTask < 1 { throw ValidationError("--cpus-per-task \(cpusPerTask) is below 1") }
        for (name, value) in [("--partition", partition), ("--time", time)] {
            if let value, value.isEmpty || value.contains(where: { $0.isWhitespace || $0 == "#" }) {
                throw ValidationError("\(name) '\(value)' cannot be written on an #SBATCH line")
            }
        }
        if let cacheLimit, ByteAmount(parsing: cacheLimit) == nil {
            throw ValidationError("--cache-limit \(cacheLimit) is not a size such as 10GB or 512MiB")
        }
        if options.cacheRoot.path.contains(where: \.isWhitespace) {
            throw ValidationError("the cache folder \(options.cacheRoot.path) holds a space, which Slurm's #SBATCH "
                                  + "--output lines cannot: give --cache-dir without one")
        }
    }

    func run() throws {
        let setup = try FarmSetup.prepare(options, tasks: tasks)
        let logs = setup.folder.url.appendingPathComponent("logs")
        var settings = SlurmJobScripts.Settings(
            executable: FarmSetup.executable, workflow: options.workflowURL.path, cacheDir: options.cacheRoot.path,
            farm: setup.folder.name, tasks: setup.marker.shards, logFolder: logs.path)
        settings.gpusPerTask = gpusPerTask
        settings.cpusPerTask = cpusPerTask
        settings.partition = partition
        settings.timeLimit = time
        settings.draft = options.draft
        settings.output = output.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        settings.cacheLimit = cacheLimit
        settings.modelsDirs = options.modelsDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let scripts = SlurmJobScripts(settings)
        let shardsURL = setup.folder.url.appendingPathComponent("shards.sbatch")
        let assemblyURL = setup.folder.url.appendingPathComponent("assemble.sbatch")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        for (text, url) in [(scripts.shards, shardsURL), (scripts.assembly, assemblyURL)] {
            try Data(text.utf8).write(to: url, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        var lines = setup.summary() + ["Scripts: \(shardsURL.path)", "         \(assemblyURL.path)",
                                       "Logs: \(logs.path)"]
        guard submit else {
            lines.append("Submit with: jobs=$(sbatch --parsable \(shardsURL.path)) && "
                         + "sbatch --dependency=afterok:${jobs%%;*} \(assemblyURL.path)")
            print(lines.joined(separator: "\n"))
            return
        }
        let array = try Self.sbatch([shardsURL.path])
        let assembly = try Self.sbatch(["--dependency=afterok:\(array)", assemblyURL.path])
        lines += ["Submitted the shards as job \(array) (array 0-\(setup.marker.shards - 1)) and the assembly as "
                  + "job \(assembly), which starts when every shard has succeeded.",
                  "Follow them with: kinora farm status \(options.workflowURL.path) --cache-dir "
                  + "\(options.cacheRoot.path)" + (options.farm.map { " --farm \($0)" } ?? "")
                  + (options.draft ? " --draft" : "")]
        print(lines.joined(separator: "\n"))
    }

    /// Why a submission failed.
    struct SubmissionFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `sbatch --parsable arguments` and returns the job id it prints (`123`, or `123` of `123;cluster`).
    static func sbatch(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sbatch", "--parsable"] + arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        do {
            try process.run()
        } catch {
            throw SubmissionFailure(description: "cannot run sbatch: \(error.localizedDescription)")
        }
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaint = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let id = printed.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard process.terminationStatus == 0, let id, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            let said = complaint.trimmingCharacters(in: .whitespacesAndNewlines)
            throw SubmissionFailure(description: "sbatch --parsable \(arguments.joined(separator: " ")) failed "
                                    + "(exit status \(process.terminationStatus))"
                                    + (said.isEmpty ? "" : ": \(said)"))
        }
        return id
    }
}
