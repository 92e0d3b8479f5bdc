import Foundation
import KinoraGPU
import KinoraShaders
import XCTest

/// Compiled pipelines persist between runs (`PipelineCacheFile`): a second device over the same folder starts from
/// the first one's driver cache, and a file that is truncated, corrupted, foreign or not a file is ignored with the
/// reason (the cache starts empty and the file is rewritten), never handed to the driver; validation stays clean.
final class PipelineCacheFileTests: XCTestCase {
    private func openDevice(_ folder: URL?) throws -> GPUDevice {
        try GPUDevice(
            selection: DeviceSelection.fromEnvironment(), validation: true, pipelineCacheFolder: folder,
            shaders: { ShaderLibrary.spirv(named: $0) })
    }

    private func assertClean(_ device: GPUDevice, file: StaticString = #filePath, line: UInt = #line) {
        let messages = device.instance.validationLog.drain()
        XCTAssertTrue(messages.isEmpty, "validation: \(messages)", file: file, line: line)
    }

    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "kinora-pipelines-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    func testASecondRunStartsFromTheFirstRunsPipelines() throws {
        let folder = try temporaryFolder()
        let first = try openDevice(folder)
        XCTAssertEqual(first.pipelines.loadedBytes, 0)
        XCTAssertNil(first.pipelines.ignoredFile)
        _ = try first.pipelines.pipeline("fill", specialization: [64])
        _ = try first.pipelines.pipeline("fill", specialization: [32])
        try first.pipelines.save()
        assertClean(first)
        let file = try XCTUnwrap(first.pipelines.file)
        XCTAssertTrue(file.url.lastPathComponent.hasSuffix(".vkpc"), file.url.path)
        let saved = try XCTUnwrap(file.load().data)
        XCTAssertGreaterThanOrEqual(saved.count, 32)

        let second = try openDevice(folder)
        XCTAssertEqual(second.pipelines.loadedBytes, saved.count)
        XCTAssertNil(second.pipelines.ignoredFile)
        _ = try second.pipelines.pipeline("fill", specialization: [64])
        assertClean(second)
    }

    func testDamagedOrForeignFilesAreIgnoredAndRewritten() throws {
        let folder = try temporaryFolder()
        let first = try openDevice(folder)
        _ = try first.pipelines.pipeline("fill", specialization: [64])
        try first.pipelines.save()
        let url = try XCTUnwrap(first.pipelines.file?.url)
        let whole = try Data(contentsOf: url)

        var flipped = whole
        flipped[flipped.count - 1] ^= 0xFF
        var foreign = Array(whole)
        // The Vulkan header's vendor id, after the 24-byte envelope, changed and the checksum made to match.
        foreign[24 + 8] ^= 0x01
        let data = Array(foreign[24...])
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        for index in 0..<8 { foreign[16 + index] = UInt8(truncatingIfNeeded: hash >> (8 * index)) }
        let cases: [(Data?, String)] = [
            (whole.prefix(whole.count - 5), "holds"),
            (flipped, "fails its checksum"),
            (Data(foreign), "written by another device or driver"),
            (Data("not a cache".utf8), "is not a Kinora pipeline cache"),
            (nil, "is not a regular file"),
        ]
        for (contents, reason) in cases {
            try? FileManager.default.removeItem(at: url)
            if let contents {
                try contents.write(to: url)
            } else {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            }
            let device = try openDevice(folder)
            XCTAssertEqual(device.pipelines.loadedBytes, 0, reason)
            let ignored = device.pipelines.ignoredFile ?? ""
            XCTAssertTrue(ignored.contains(reason), ignored)
            _ = try device.pipelines.pipeline("fill", specialization: [64])
            if contents == nil { try FileManager.default.removeItem(at: url) }
            try device.pipelines.save()
            XCTAssertNotNil(device.pipelines.file?.load().data, "rewritten whole after \(reason)")
            assertClean(device)
        }
    }

    func testTheFolderFollowsTheEnvironment() {
        XCTAssertNil(PipelineCacheFile.defaultFolder(environment: ["KINORA_PIPELINE_CACHE": "off", "HOME": "/h"]))
        XCTAssertEqual(
            PipelineCacheFile.defaultFolder(environment: ["KINORA_PIPELINE_CACHE": "/tmp/p", "HOME": "/h"])?.path,
            "/tmp/p")
        XCTAssertEqual(
            PipelineCacheFile.defaultFolder(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"])?.path,
            "/x/kinora/pipelines")
        XCTAssertEqual(PipelineCacheFile.defaultFolder(environment: ["HOME": "/h"])?.path, "/h/.cache/kinora/pipelines")
        XCTAssertNil(PipelineCacheFile.defaultFolder(environment: [:]))
    }
}
