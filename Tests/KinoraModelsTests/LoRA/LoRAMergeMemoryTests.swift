import Foundation
import KinoraFormats
@testable import KinoraModels
import XCTest

/// The merge scratch planners count for LoRA adapters, against the device allocator's peak while the tiny SD
/// fixture's patched weights upload and merge.
final class LoRAMergeMemoryTests: ModelTestCase {
    func testScratchCoversTheMeasuredPeakOfEveryPatchedWeightsMerge() throws {
        let adapters = [("sd-kohya.safetensors", Float(0.8)), ("sd-peft.safetensors", -0.5)]
        let components = try StableDiffusionComponents(folder: fixtureURL("pipeline/sd")).applying(
            adapters.map { LoRAAdapter(url: fixtureURL("lora/\($0.0)"), strength: $0.1) })
        let files = try adapters.map { try LoRAFile(url: fixtureURL("lora/\($0.0)")) }
        let planned = try LoRAMergeMemory.scratchBytes(for: files, components: [.denoiser])
        var largest: UInt64 = 0
        for name in components.unetPatches.keys.sorted() {
            let weights = DeviceWeights(store: components.unetStore, device: device, patches: components.unetPatches)
            device.memory.trim()
            let before = device.memory.liveBytes
            device.memory.resetPeak()
            let merged = try weights.tensor(name)
            let scratch = device.memory.peakBytes - before - UInt64(merged.byteCount)
            XCTAssertLessThanOrEqual(scratch, planned, name)
            largest = max(largest, scratch)
        }
        XCTAssertGreaterThan(largest, 0)
        XCTAssertLessThan(planned, 2 * largest, "the estimate stays near what a merge takes")
        XCTAssertEqual(try LoRAMergeMemory.scratchBytes(for: files, components: [.textEncoder2]), 0)
        print("LoRA merge scratch: planned \(planned) bytes, largest measured \(largest)")
    }
}
