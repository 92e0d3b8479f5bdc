import Foundation
import KinoraPipeline

/// `kinora render --devices 0,1`: a farm on one machine's devices, one shard per device.
extension RenderCommand {
    /// Why a device's shard failed.
    struct DeviceShardFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Prepares the farm for `devices.count` shards in the cache at `cacheRoot`, runs shard I on device I (a child
    /// `kinora render --shard I/N` with `KINORA_DEVICE` set, so it has that device and its memory budget to itself),
    /// all at once, and returns when every one has succeeded; the render then assembles. Each shard's output goes to
    /// `<farm>/logs/shard-I-of-N.log`. A shard that fails is reported with the end of its log once the others have
    /// ended (their results stay in the cache: running again resumes).
    ///
    /// Processes rather than threads: each device's runner, arenas and pipeline cache stay apart, and a device that
    /// fails takes only its own shard down.
    func runDeviceShards(_ devices: [String], cacheRoot: URL) throws {
        let mode: RenderMode = draft ? .draft : .final
        let farm = try farmOptions.folder(cacheRoot: cacheRoot, workflow: workflowURL, mode: mode)
        try farm.prepare(FarmMarker(farm: farm.name, workflow: workflowURL.path, mode: mode,
                                    workflowHash: try FarmVersion.workflowHash(of: workflowURL, mode: mode),
                                    shards: devices.count, host: FarmRecord.currentHost, prepared: Date()))
        let logs = farm.url.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        var common = ["render", workflowURL.path, "--cache-dir", cacheRoot.path, "--farm", farm.name,
                      "--progress", "none"]
        if draft { common.append("--draft") }
        for folder in modelsDir { common += ["--models-dir", URL(fileURLWithPath: folder).standardizedFileURL.path] }
        if let vram = deviceOptions.vram { common += ["--vram", vram] }
        if deviceOptions.validation { common.append("--validation") }

        var running: [(shard: ShardIndex, device: String, process: Process, log: URL)] = []
        for (offset, device) in devices.enumerated() {
            let shard = try ShardIndex(index: offset + 1, count: devices.count)
            let log = logs.appendingPathComponent(shard.fileStem + ".log")
            guard FileManager.default.createFile(atPath: log.path, contents: nil),
                  let handle = FileHandle(forWritingAtPath: log.path) else {
                throw DeviceShardFailure(description: "cannot write the log \(log.path)")
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: FarmSetup.executable)
            process.arguments = common + ["--shard", shard.description]
            process.environment = ProcessInfo.processInfo.environment.merging(["KINORA_DEVICE": device]) { $1 }
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try handle.close()
            running.append((shard, device, process, log))
            note("Shard \(shard) on device \(device): started (log: \(log.path))")
        }
        var failures: [String] = []
        for (shard, device, process, log) in running {
            process.waitUntilExit()
            guard process.terminationReason == .exit, process.terminationStatus == 0 else {
                let how = process.terminationReason == .exit ? "exit status \(process.terminationStatus)"
                    : "signal \(process.terminationStatus)"
                let tail = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").suffix(3)
                    .joined(separator: " | ") ?? ""
                failures.append("shard \(shard) on device \(device) failed (\(how)): \(tail) (log: \(log.path))")
                continue
            }
            note("Shard \(shard) on device \(device): done")
        }
        guard failures.isEmpty else {
            throw DeviceShardFailure(description: failures.joined(separator: "; ")
                                     + "; the shards' finished stages stay in the cache: run again to resume")
        }
    }
}
