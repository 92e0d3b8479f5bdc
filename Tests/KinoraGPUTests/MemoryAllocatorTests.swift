import KinoraGPU
import XCTest

final class MemoryAllocatorTests: GPUTestCase {
    func testAllocationOverTheBudgetThrowsATypedErrorWithRequestedAndAvailableBytes() throws {
        let memory = device.memory
        let saved = memory.budget
        defer { memory.budget = saved }
        memory.budget = memory.liveBytes + (1 << 20)
        let kept = try device.allocate(bytes: 512 << 10)
        XCTAssertThrowsError(try device.allocate(bytes: 4 << 20)) { error in
            guard case GPUError.outOfMemory(let requested, let available, _) = error else {
                return XCTFail("expected outOfMemory, got \(error)")
            }
            XCTAssertEqual(requested, 4 << 20)
            XCTAssertEqual(available, 512 << 10)
            XCTAssertTrue("\(error)".contains("out of device memory"))
        }
        _ = kept
    }

    func testBufferLargerThanTheDeviceLimitIsRejected() throws {
        let limit = device.memory.maxBufferSize
        XCTAssertThrowsError(try device.allocate(bytes: limit + 1)) { error in
            XCTAssertEqual(error as? GPUError, .bufferTooLarge(requested: limit + 1, limit: limit))
        }
    }

    func testLiveAndPeakBytesFollowAllocationsAndFrees() throws {
        let memory = device.memory
        let base = memory.liveBytes
        memory.resetPeak()
        do {
            let first = try device.allocate(bytes: 1 << 20)
            let second = try device.allocate(bytes: 3 << 20)
            XCTAssertEqual(memory.liveBytes, base + (4 << 20))
            _ = (first, second)
        }
        XCTAssertEqual(memory.liveBytes, base)
        XCTAssertEqual(memory.peakBytes, base + (4 << 20))
    }

    func testFreedRangesAreReusedAndDoNotOverlapLiveOnes() throws {
        var buffers = try (0..<8).map { _ in try device.allocate(bytes: 10_000) }
        let ranges = buffers.map(\.byteRange)
        for (i, a) in ranges.enumerated() {
            for b in ranges[(i + 1)...] { XCTAssertFalse(a.overlaps(b)) }
        }
        let freed = buffers.remove(at: 3).byteRange
        let again = try device.allocate(bytes: 10_000)
        XCTAssertEqual(again.byteRange, freed)
    }

    func testUploadAndDownloadRoundTripWithOffsets() throws {
        let values = (0..<777).map { Float($0) * 0.25 - 3 }
        let buffer = try device.makeBuffer(values)
        XCTAssertEqual(try device.read(buffer, as: Float.self, count: 777), values)
        XCTAssertEqual(try device.read(buffer, as: Float.self, count: 2, offset: 4 * 775), [values[775], values[776]])
    }

    func testByteCountParsesHumanSizes() {
        XCTAssertEqual(ByteCount.parse("6GB"), 6 << 30)
        XCTAssertEqual(ByteCount.parse("512MiB"), 512 << 20)
        XCTAssertEqual(ByteCount.parse("1.5g"), 3 << 29)
        XCTAssertEqual(ByteCount.parse("1000"), 1000)
        XCTAssertNil(ByteCount.parse("six gigs"))
    }
}
