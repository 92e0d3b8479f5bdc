import KinoraGPU
import KinoraTensor
import XCTest

final class GraphTests: TensorTestCase {
    func testArenaPeakOfALongChainIsFarBelowTheSumOfItsIntermediates() throws {
        let count = 64 * 1024
        let steps = 24
        let input = randomValues(count)
        let graph = makeGraph()
        var value = try graph.input(input, shape: [count])
        for step in 0..<steps {
            value = step % 2 == 0 ? try graph.scale(value, by: 1.01, offset: 0.001) : try graph.tanh(value)
        }
        arena.trim()
        device.memory.resetPeak()
        let before = device.memory.liveBytes
        let result = try graph.run([value])[0]
        let peak = device.memory.peakBytes - before
        let intermediates = UInt64(steps * count * 4)
        XCTAssertLessThan(peak, intermediates / 4, "peak \(peak) vs intermediates \(intermediates)")
        XCTAssertLessThanOrEqual(arena.slotCount, 3)
        var expected = input.map(Double.init)
        for step in 0..<steps {
            expected = expected.map { step % 2 == 0 ? $0 * 1.01 + 0.001 : Foundation.tanh($0) }
        }
        assertClose(try result.floats(), expected, tolerance: 1e-6)
    }

    func testMemoryPlanPredictsTheMeasuredPeakOfARunWithBranches() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(33 * 1000), shape: [33, 1000])
        let w = try graph.input(randomValues(1000 * 130), shape: [1000, 130])
        let left = try graph.silu(graph.matmul(x, w))
        let right = try graph.tanh(graph.scale(graph.matmul(x, w), by: 0.5))
        let joined = try graph.add(graph.exp(left), right)
        let output = try graph.multiply(joined, joined)
        let plan = try graph.memoryPlan([output])
        XCTAssertGreaterThan(plan.slots, 1)
        arena.trim()
        device.memory.resetPeak()
        let before = device.memory.liveBytes
        _ = try graph.run([output])
        let measured = device.memory.peakBytes - before
        XCTAssertLessThanOrEqual(measured, plan.peakBytes + 4096, "measured \(measured) planned \(plan)")
        XCTAssertGreaterThanOrEqual(measured, plan.activationBytes, "measured \(measured) planned \(plan)")
    }

    /// With the outputs rounded as the allocator rounds them, the plan is the run's peak to the byte, and its largest
    /// buffer is the largest slot or output the run allocates.
    func testAllocatedPeakIsTheMeasuredPeakAndTheLargestBufferIsKnown() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(33 * 1000), shape: [33, 1000])
        let w = try graph.input(randomValues(1000 * 130), shape: [1000, 130])
        let wide = try graph.silu(graph.matmul(x, w))
        // Odd sizes: 33·130·4 and 33·7·4 bytes are not multiples of the allocator's alignment.
        let small = try graph.slice(graph.exp(wide), axis: 1, start: 0, length: 7)
        let outputs = [try graph.multiply(wide, wide), try graph.copy(small)]
        let plan = try graph.memoryPlan(outputs)
        XCTAssertEqual(plan.outputBytes, UInt64(33 * 130 * 4 + 33 * 7 * 4))
        XCTAssertEqual(
            plan.allocatedOutputBytes,
            device.memory.allocationSize(for: 33 * 130 * 4) + device.memory.allocationSize(for: 33 * 7 * 4))
        XCTAssertGreaterThan(plan.allocatedOutputBytes, plan.outputBytes)
        XCTAssertEqual(plan.largestBufferBytes, ActivationArena.slotSize(for: 33 * 130 * 4))
        arena.trim()
        device.memory.resetPeak()
        let before = device.memory.liveBytes
        _ = try graph.run(outputs)
        XCTAssertEqual(device.memory.peakBytes - before, plan.allocatedPeakBytes)
    }

    func testUnusedBranchesAreNotExecuted() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(10), shape: [10])
        _ = try graph.exp(x)
        let used = try graph.silu(x)
        let (tensors, timings) = try graph.runProfiled([used])
        XCTAssertEqual(timings.map(\.label), ["silu"])
        XCTAssertEqual(tensors[0].shape, [10])
    }

    func testTheDeviceProfileSumsEveryRunByKernelOnlyWhileEnabled() throws {
        device.profile.reset()
        let untimed = makeGraph()
        _ = try untimed.run([untimed.silu(untimed.input(randomValues(10), shape: [10]))])
        XCTAssertEqual(device.profile.entries, [], "recorded while disabled")
        device.profile.isEnabled = true
        defer { device.profile.isEnabled = false; device.profile.reset() }
        for _ in 0..<3 {
            let graph = makeGraph()
            let input = try graph.input(randomValues(10), shape: [10])
            _ = try graph.run([graph.exp(graph.silu(input))])
        }
        let entries = device.profile.entries
        XCTAssertEqual(Set(entries.map(\.label)), ["silu", "exp"])
        XCTAssertEqual(entries.map(\.dispatches), [3, 3])
        XCTAssertTrue(entries.allSatisfy { $0.kernel.hasPrefix("unary") && $0.nanoseconds > 0 }, "\(entries)")
        XCTAssertGreaterThanOrEqual(entries[0].nanoseconds, entries[1].nanoseconds)
        let report = device.profile.report()
        XCTAssertTrue(report.contains("silu") && report.contains("exp"), report)
        XCTAssertTrue(report.hasSuffix("%\n") && report.contains("total"), report)
    }

    func testReshapeIsAViewAndOutputsSurviveLaterRuns() throws {
        let values = randomValues(12)
        let graph = makeGraph()
        let x = try graph.input(values, shape: [3, 4])
        let y = try graph.reshape(graph.scale(x, by: 2), [2, 6])
        let first = try graph.run([y])[0]
        let other = makeGraph()
        _ = try other.run([other.scale(other.input(randomValues(12), shape: [12]), by: 5)])
        XCTAssertEqual(first.shape, [2, 6])
        XCTAssertEqual(try first.floats(), values.map { $0 * 2 })
    }

    func testValuesFromAnotherGraphAreRejected() throws {
        let first = makeGraph(), second = makeGraph()
        let x = try first.input([1], shape: [1])
        XCTAssertThrowsError(try second.exp(x)) { error in
            XCTAssertEqual(error as? TensorError, .foreignValue(op: "unary"))
        }
    }

    func testTensorRejectsDataOfTheWrongLength() {
        XCTAssertThrowsError(try Tensor([1, 2, 3], shape: [2, 2], on: device)) { error in
            XCTAssertEqual(error as? TensorError, .dataLength(expected: 4, got: 3))
        }
    }

    func testOverBudgetRunThrowsOutOfMemoryAndLeavesTheArenaUsable() throws {
        let graph = makeGraph()
        let x = try graph.input(randomValues(1 << 18), shape: [1 << 18])
        let y = try graph.exp(graph.silu(x))
        let memory = device.memory
        let saved = memory.budget
        arena.trim()
        memory.budget = memory.liveBytes + (256 << 10)
        XCTAssertThrowsError(try graph.run([y])) { error in
            guard case GPUError.outOfMemory = error else { return XCTFail("expected out of memory, got \(error)") }
        }
        memory.budget = saved
        XCTAssertEqual(try graph.run([y])[0].shape, [1 << 18])
    }
}
