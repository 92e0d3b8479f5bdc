import KinoraGPU
import XCTest

final class CommandStreamTests: GPUTestCase {
    private func fill(_ stream: CommandStream, _ buffer: GPUBuffer, count: Int, value: Float, step: Float) throws {
        let pipeline = try device.pipelines.pipeline("fill", specialization: [64])
        try stream.dispatch(pipeline, bindings: [BufferBinding(buffer, .write)],
                            pushConstants: [UInt32(count), value.bitPattern, step.bitPattern],
                            groups: (UInt32((count + 63) / 64), 1, 1))
    }

    func testFillKernelWritesEveryElementOfAnOddSizedBuffer() throws {
        let count = 1031
        let buffer = try device.allocate(bytes: UInt64(count * 4))
        let stream = CommandStream(device: device)
        try fill(stream, buffer, count: count, value: 3, step: 0.5)
        try stream.finish()
        let values = try device.read(buffer, as: Float.self, count: count)
        for index in [0, 1, 63, 64, 1030] {
            XCTAssertEqual(values[index], 3 + Float(index) * 0.5)
        }
    }

    /// A kernel that needs the device's subgroup size gets a pipeline of its own that requires it (the validation
    /// layer checks the requirement against the device's range), and computes what the plain one does.
    func testAPipelineThatRequiresTheSubgroupSizeRunsAsThePlainOne() throws {
        let size = device.physical.features.subgroupSize
        let plain = try device.pipelines.pipeline("fill", specialization: [64])
        let fixed = try device.pipelines.pipeline("fill", specialization: [64], subgroupSize: size)
        XCTAssertFalse(plain === fixed, "a pipeline of its own")
        XCTAssertTrue(fixed === (try device.pipelines.pipeline("fill", specialization: [64], subgroupSize: size)))
        let count = 300
        let buffer = try device.allocate(bytes: UInt64(count * 4))
        let stream = CommandStream(device: device)
        try stream.dispatch(fixed, bindings: [BufferBinding(buffer, .write)],
                            pushConstants: [UInt32(count), Float(1).bitPattern, Float(2).bitPattern],
                            groups: (UInt32((count + 63) / 64), 1, 1))
        try stream.finish()
        XCTAssertEqual(try device.read(buffer, as: Float.self, count: count), (0..<count).map { 1 + 2 * Float($0) })
    }

    func testIndependentWritesNeedNoBarrierButAWriteAfterWriteDoes() throws {
        let first = try device.allocate(bytes: 4096)
        let second = try device.allocate(bytes: 4096)
        let stream = CommandStream(device: device)
        try fill(stream, first, count: 1024, value: 1, step: 0)
        try fill(stream, second, count: 1024, value: 2, step: 0)
        XCTAssertEqual(stream.barrierCount, 0)
        try fill(stream, first, count: 1024, value: 5, step: 0)
        XCTAssertEqual(stream.barrierCount, 1)
        try stream.finish()
        XCTAssertEqual(try device.read(first, as: Float.self, count: 1024)[1023], 5)
        XCTAssertEqual(try device.read(second, as: Float.self, count: 1024)[0], 2)
    }

    func testCopyAfterWriteIsOrderedByABarrier() throws {
        let source = try device.allocate(bytes: 400)
        let destination = try device.allocate(bytes: 400)
        let stream = CommandStream(device: device)
        try fill(stream, source, count: 100, value: 7, step: 1)
        try stream.copy(from: source, to: destination, bytes: 400)
        XCTAssertEqual(stream.barrierCount, 1)
        try stream.finish()
        XCTAssertEqual(try device.read(destination, as: Float.self, count: 100)[99], 106)
    }

    func testManyDispatchesAreSubmittedInBatches() throws {
        let buffer = try device.allocate(bytes: 256)
        let stream = CommandStream(device: device, maxDispatchesPerBatch: 8)
        for index in 0..<20 { try fill(stream, buffer, count: 64, value: Float(index), step: 0) }
        XCTAssertEqual(stream.submitCount, 2)
        try stream.finish()
        XCTAssertEqual(stream.submitCount, 3)
        XCTAssertEqual(try device.read(buffer, as: Float.self, count: 64)[10], 19)
    }

    func testProfilingReportsOneTimingPerDispatch() throws {
        let buffer = try device.allocate(bytes: 4 * 4096)
        let stream = CommandStream(device: device, profiling: true)
        try fill(stream, buffer, count: 4096, value: 0, step: 1)
        try fill(stream, buffer, count: 4096, value: 1, step: 1)
        let timings = try stream.finish()
        XCTAssertEqual(timings.map(\.label), ["fill", "fill"])
        XCTAssertTrue(timings.allSatisfy { $0.nanoseconds >= 0 })
    }

    func testOutOfRangeWorkgroupCountIsRejected() throws {
        let buffer = try device.allocate(bytes: 256)
        let stream = CommandStream(device: device)
        let pipeline = try device.pipelines.pipeline("fill", specialization: [64])
        XCTAssertThrowsError(try stream.dispatch(pipeline, bindings: [BufferBinding(buffer, .write)],
                                                 pushConstants: [1, 0, 0], groups: (0, 1, 1)))
    }
}
