import XCTest

@testable import KinoraPipeline

final class SlurmJobScriptsTests: XCTestCase {
    private func settings() -> SlurmJobScripts.Settings {
        SlurmJobScripts.Settings(executable: "/opt/kinora/bin/kinora", workflow: "/films/My film.yaml",
                                 cacheDir: "/shared/cache", farm: "My_film-final", tasks: 4,
                                 logFolder: "/shared/cache/farm/My_film-final/logs")
    }

    private func lines(_ script: String) -> [String] {
        script.split(separator: "\n").map(String.init)
    }

    func testTheArrayRunsShardTaskPlusOneOfNOnAGPUEach() {
        var given = settings()
        given.partition = "gpu"
        given.timeLimit = "2:00:00"
        given.cpusPerTask = 8
        let script = lines(SlurmJobScripts(given).shards)
        XCTAssertEqual(script.first, "#!/bin/bash")
        for line in ["#SBATCH --array=0-3", "#SBATCH --gres=gpu:1", "#SBATCH --partition=gpu",
                     "#SBATCH --time=2:00:00", "#SBATCH --cpus-per-task=8", "#SBATCH --ntasks=1",
                     "#SBATCH --output=/shared/cache/farm/My_film-final/logs/shard-%a-%A.log"] {
            XCTAssertTrue(script.contains(line), line)
        }
        XCTAssertEqual(script.last, "exec /opt/kinora/bin/kinora render '/films/My film.yaml' --cache-dir "
                       + "/shared/cache --farm My_film-final --shard \"$((SLURM_ARRAY_TASK_ID + 1))/4\"")
        // Every #SBATCH line comes before the first command, as sbatch reads them.
        let firstCommand = script.firstIndex { !$0.hasPrefix("#") } ?? script.count
        XCTAssertFalse(script[firstCommand...].contains { $0.hasPrefix("#SBATCH") })
    }

    func testTheAssemblyRendersWithTheSameOptionsAndItsOutput() {
        var given = settings()
        given.gpusPerTask = 0
        given.draft = true
        given.output = "/out/it's here.mp4"
        given.cacheLimit = "500GB"
        given.modelsDirs = ["/models"]
        let scripts = SlurmJobScripts(given)
        let assembly = lines(scripts.assembly)
        XCTAssertFalse(scripts.shards.contains("--gres"), "no GPUs asked for")
        XCTAssertFalse(scripts.assembly.contains("--array"))
        XCTAssertTrue(assembly.contains("#SBATCH --output=/shared/cache/farm/My_film-final/logs/assemble-%j.log"))
        XCTAssertEqual(assembly.last, "exec /opt/kinora/bin/kinora render '/films/My film.yaml' --cache-dir "
                       + "/shared/cache --farm My_film-final --draft --models-dir /models --assemble --cache-limit "
                       + "500GB --output '/out/it'\\''s here.mp4'")
        XCTAssertTrue(scripts.shards.contains("--draft --models-dir /models --shard"), "shards never trim the cache")
    }
}
