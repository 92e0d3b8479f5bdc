/// The two batch scripts of a farm on Slurm: an array job whose task T runs `kinora render --shard (T+1)/N`, and
/// the assembly (`kinora render --assemble`), which `kinora farm slurm --submit` makes depend on the whole array
/// (`--dependency=afterok`). Every path in them is absolute, so they run from any folder on any node that sees the
/// same files.
public struct SlurmJobScripts: Sendable, Hashable {
    /// What the scripts run and ask Slurm for.
    public struct Settings: Sendable, Hashable {
        /// The `kinora` executable's absolute path.
        public var executable: String
        /// The workflow file's absolute path.
        public var workflow: String
        /// The shared stage cache's absolute path.
        public var cacheDir: String
        public var farm: String
        /// Shards: the array's tasks.
        public var tasks: Int
        /// GPUs each task asks for (`--gres=gpu:G`); none at 0.
        public var gpusPerTask: Int = 1
        public var cpusPerTask: Int?
        public var partition: String?
        /// `--time` of every job (`2:00:00`).
        public var timeLimit: String?
        /// The folder the jobs' logs go to (absolute).
        public var logFolder: String
        public var draft = false
        /// The assembly's `--output`.
        public var output: String?
        /// The assembly's `--cache-limit` (shards never trim the cache).
        public var cacheLimit: String?
        public var modelsDirs: [String] = []

        public init(executable: String, workflow: String, cacheDir: String, farm: String, tasks: Int,
                    logFolder: String) {
            self.executable = executable
            self.workflow = workflow
            self.cacheDir = cacheDir
            self.farm = farm
            self.tasks = tasks
            self.logFolder = logFolder
        }
    }

    /// The array job of the shards.
    public let shards: String
    /// The assembly job.
    public let assembly: String

    public init(_ settings: Settings) {
        var render = [settings.executable, "render", settings.workflow, "--cache-dir", settings.cacheDir,
                      "--farm", settings.farm].map(ShellWord.quoted)
        if settings.draft { render.append("--draft") }
        for folder in settings.modelsDirs { render += ["--models-dir", ShellWord.quoted(folder)] }
        let log = settings.logFolder.hasSuffix("/") ? settings.logFolder : settings.logFolder + "/"

        var common: [String] = []
        if let partition = settings.partition { common.append("#SBATCH --partition=\(partition)") }
        if settings.gpusPerTask > 0 { common.append("#SBATCH --gres=gpu:\(settings.gpusPerTask)") }
        if let cpus = settings.cpusPerTask { common.append("#SBATCH --cpus-per-task=\(cpus)") }
        if let time = settings.timeLimit { common.append("#SBATCH --time=\(time)") }

        shards = ([
            "#!/bin/bash",
            "# The shards of farm '\(settings.farm)' (\(settings.workflow)), written by kinora farm slurm: array task "
                + "T runs shard T+1 of \(settings.tasks).",
            "#SBATCH --job-name=kinora-\(settings.farm)",
            "#SBATCH --array=0-\(settings.tasks - 1)",
            "#SBATCH --ntasks=1",
            "#SBATCH --output=\(log)shard-%a-%A.log",
        ] + common + [
            "set -euo pipefail",
            "exec " + (render + ["--shard", "\"$((SLURM_ARRAY_TASK_ID + 1))/\(settings.tasks)\""])
                .joined(separator: " "),
        ]).joined(separator: "\n") + "\n"

        var assemble = render + ["--assemble"]
        // Only the assembly trims the cache: a shard that did could evict the others' results.
        if let limit = settings.cacheLimit { assemble += ["--cache-limit", ShellWord.quoted(limit)] }
        if let output = settings.output { assemble += ["--output", ShellWord.quoted(output)] }
        assembly = ([
            "#!/bin/bash",
            "# The assembly of farm '\(settings.farm)' (\(settings.workflow)), written by kinora farm slurm: it "
                + "runs once every shard has succeeded.",
            "#SBATCH --job-name=kinora-\(settings.farm)-assemble",
            "#SBATCH --ntasks=1",
            "#SBATCH --output=\(log)assemble-%j.log",
        ] + common + [
            "set -euo pipefail",
            "exec " + assemble.joined(separator: " "),
        ]).joined(separator: "\n") + "\n"
    }
}
