import ArgumentParser
import Foundation
import KinoraKernelCheck
import KinoraTensor

/// `kinora-gpu-check conformance`: every kernel against its CPU reference on random inputs of awkward sizes, one line
/// per case; exits non-zero when any case fails.
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Check every kernel (tensor-core variants included) against its CPU reference.",
        discussion: """
            Each case draws inputs from --seed and its own name, so one failing case reproduces alone with the same \
            --seed and --filter. With --validation any message of the Khronos validation layer fails the case.
            """)

    @OptionGroup var deviceOptions: CheckDeviceOptions

    @Option(name: .long, help: "Seed of the random inputs (default: a fresh one, printed).")
    var seed: UInt64?

    @Option(name: .long, help: "Only cases whose name contains this text.")
    var filter: String?

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    /// What `--json` prints.
    struct Report: Codable {
        var device: String
        var tier: String
        var seed: UInt64
        var results: [ConformanceResult]
    }

    func run() throws {
        let device = try deviceOptions.open()
        let seed = self.seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        let cases = KernelConformance.cases(for: device).filter { filter.map($0.name.contains) ?? true }
        guard !cases.isEmpty else { throw ValidationError("no conformance case matches --filter \(filter ?? "")") }
        if !json {
            let title = "\(device.summary), \(cases.count) cases, seed \(seed)"
                + (deviceOptions.validation ? ", validation on" : "")
            FileHandle.standardOutput.write(Data((title + "\n" + ConformanceResult.header + "\n").utf8))
        }
        let arena = ActivationArena(device: device)
        var results: [ConformanceResult] = []
        for conformanceCase in cases {
            let result = KernelConformance.check(conformanceCase, arena: arena, seed: seed)
            results.append(result)
            // Written unbuffered, so a log shows how far a run got when a case hangs the device.
            if !json { FileHandle.standardOutput.write(Data((result.row + "\n").utf8)) }
        }
        let failed = results.filter { $0.status == .fail }.count
        let skipped = results.filter { $0.status == .skip }.count
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = Report(device: device.physical.name, tier: device.tier.rawValue, seed: seed,
                                results: results)
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            let passed = results.count - failed - skipped
            let summary = "conformance: \(passed) passed, \(failed) failed, \(skipped) skipped"
            FileHandle.standardOutput.write(Data((summary + "\n").utf8))
        }
        if failed > 0 { throw ExitCode.failure }
    }
}
