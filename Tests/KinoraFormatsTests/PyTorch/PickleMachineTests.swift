import XCTest

@testable import KinoraFormats

final class PickleMachineTests: XCTestCase {
    private func run(_ bytes: [UInt8]) throws -> PickleValue {
        try bytes.withUnsafeBytes { buffer in
            var machine = PickleMachine(bytes: buffer) { _ in throw PickleMachine.Failure(reason: "no storages here") }
            return try machine.run()
        }
    }

    private func failure(_ bytes: [UInt8]) -> PickleMachine.Failure? {
        do {
            _ = try run(bytes)
            return nil
        } catch {
            return error as? PickleMachine.Failure
        }
    }

    private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    func testProtocolZeroTextOpcodesBuildContainers() throws {
        // (lp0\nI1\naI01\naF0.5\naS'x'... as pickle.dumps([1, True, 0.5], protocol=0) writes it.
        let value = try run(text("(lp0\nI1\naI01\naF0.5\na."))
        guard case .list(let list) = value, list.items.count == 3, case .int(1) = list.items[0],
            case .bool(true) = list.items[1], case .float(0.5) = list.items[2]
        else { return XCTFail("\(value)") }
    }

    func testMemoSharesOneListButAContainerInsideItselfIsRefused() throws {
        // l = []; m = [l, l]: the memo shares one list.
        let shared = try run([0x80, 0x02, 0x5D, 0x71, 0x00, 0x30, 0x5D, 0x28, 0x68, 0x00, 0x68, 0x00, 0x65, 0x2E])
        guard case .list(let outer) = shared, case .list(let first) = outer.items[0],
            case .list(let second) = outer.items[1]
        else { return XCTFail("\(shared)") }
        XCTAssertTrue(first === second)
        // l = []; l.append(l)
        XCTAssertEqual(
            failure([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E])?.reason,
            "a container is put inside itself")
    }

    func testAListChangedAfterItWasNestedIsRefused() {
        // a = []; b = [a]; a.append(1): the nested list would change under its parent.
        let pickle: [UInt8] = [
            0x80, 0x02, 0x5D, 0x71, 0x00, 0x5D, 0x68, 0x00, 0x61, 0x30, 0x68, 0x00, 0x4B, 0x01, 0x61, 0x2E,
        ]
        XCTAssertEqual(failure(pickle)?.reason, "the pickle changes a list after placing it in another container")
    }

    func testDeepNestingIsRefusedBeforeItCanExhaustTheStack() {
        // (((…None…),),) a million levels deep: refused at level 256, and releasing what was built does not recurse.
        let pickle: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        XCTAssertEqual(failure(pickle)?.reason, "containers nest deeper than 256 levels")
        // l = []; then l = [l] three hundred times, through the memo.
        let lists: [UInt8] =
            [0x80, 0x02, 0x5D, 0x71, 0x00, 0x30]
            + [UInt8](repeating: 0, count: 300).flatMap { _ in [0x5D, 0x68, 0x00, 0x61, 0x71, 0x00, 0x30] }
        XCTAssertEqual(failure(lists + [0x68, 0x00, 0x2E])?.reason, "containers nest deeper than 256 levels")
    }

    func testSharedTuplesWhosePathsMultiplyAreSearchedOnce() throws {
        // t = (); t = (t, t) sixty-four times: 2^64 paths to the innermost tuple, 129 distinct values.
        let pickle: [UInt8] =
            [0x80, 0x02, 0x29] + [UInt8](repeating: 0, count: 64).flatMap { _ in [0x32, 0x86] } + [0x2E]
        guard case .tuple(let pair) = try run(pickle) else { return XCTFail() }
        XCTAssertEqual(pair.count, 2)
    }

    func testDictKeysCompareByTheirBytesAsInPython() throws {
        // {"é": 1, "e\u0301": 2}: canonically equivalent in Swift, two keys in Python.
        let composed = Array("é".utf8)
        let decomposed = Array("e\u{301}".utf8)
        let pickle: [UInt8] =
            [0x80, 0x02, 0x7D, 0x28, 0x8C, UInt8(composed.count)] + composed + [
                0x4B, 0x01, 0x8C,
                UInt8(decomposed.count),
            ] + decomposed + [0x4B, 0x02, 0x75, 0x2E]
        guard case .dict(let dict) = try run(pickle) else { return XCTFail() }
        XCTAssertEqual(dict.entries.count, 2)
    }

    func testLargeIntegersAndNegativeLong1() throws {
        guard case .int(-1) = try run([0x80, 0x02, 0x8A, 0x01, 0xFF, 0x2E]) else { return XCTFail() }
        guard case .int(Int.min) = try run([0x80, 0x02, 0x8A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x2E]) else {
            return XCTFail()
        }
        guard case .bigInt(let bytes) = try run([0x80, 0x02, 0x8A, 0x09] + [UInt8](repeating: 1, count: 9) + [0x2E])
        else { return XCTFail() }
        XCTAssertEqual(bytes.count, 9)
    }

    func testGlobalsOffTheAllowListAreRefusedByNameEveryWayTheyCanBeNamed() {
        let ways: [[UInt8]] = [
            text("cos\nsystem\n(S'true'\ntR."),  // GLOBAL + REDUCE
            [0x80, 0x04, 0x8C, 0x02] + text("os") + [0x8C, 0x06] + text("system") + [0x93, 0x2E],  // STACK_GLOBAL
            text("(S'true'\nios\nsystem\n."),  // INST
            text("cbuiltins\neval\n."),
            text("ctorch\nload\n."),
        ]
        for (index, pickle) in ways.enumerated() {
            let reason = failure(pickle)?.reason ?? ""
            XCTAssertTrue(reason.contains("not on the list"), "\(index): \(reason)")
        }
        XCTAssertTrue(failure(text("cos\nsystem\n."))!.reason.contains("'os.system'"))
    }

    func testUnsupportedTensorTypesAreNamedAsSuchAndLightningCallbacksAreInert() throws {
        XCTAssertEqual(failure(text("ctorch\nuint16\n."))?.reason, "the tensor type 'torch.uint16' is not supported")
        let callback =
            text("cpytorch_lightning.callbacks.model_checkpoint\nModelCheckpoint\n") + [0x29, 0x81, 0x7D, 0x62, 0x2E]
        guard case .opaque = try run(callback) else { return XCTFail() }
    }

    func testCallingAnAllowedGlobalThatIsNotAFunctionIsRefused() {
        XCTAssertEqual(
            failure(text("ctorch\nFloatStorage\n)R."))?.reason, "torch.FloatStorage cannot be called")
    }

    func testMalformedProgramsGiveTheOpcodesByte() {
        XCTAssertEqual(failure([0x80, 0x02, 0x30, 0x2E]), .init(reason: "the stack is empty", offset: 2))
        XCTAssertEqual(
            failure([0x80, 0x02, 0x68, 0x05, 0x2E]), .init(reason: "memo entry 5 was never stored", offset: 2))
        XCTAssertEqual(
            failure([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F]),
            .init(reason: "a length of 2147483647 reaches past the end of the pickle", offset: 2))
        XCTAssertEqual(
            failure([0x80, 0x02, 0x82, 0x01, 0x2E]),
            .init(reason: "opcode 0x82 is not supported in a weights file", offset: 2))
        XCTAssertEqual(
            failure([0x80, 0x02, 0x28, 0x4E, 0x2E]), .init(reason: "STOP with a MARK still open", offset: 4))
        XCTAssertEqual(
            failure([0x80, 0x02, 0x4E]),
            .init(reason: "the pickle ends inside an opcode's argument (1 bytes wanted)", offset: 3))
        XCTAssertEqual(failure([0x80, 0x02, 0x4E, 0x28, 0x30, 0x2E])?.reason, "an opcode reached below the last MARK")
        XCTAssertEqual(failure([0x80, 0x02, 0x4E, 0x61, 0x2E])?.reason, "the stack is empty")
        XCTAssertEqual(
            failure([0x80, 0x02, 0x7D, 0x5D, 0x4E, 0x73, 0x2E])?.reason,
            "a dict key must be a str, int, float, bool, None or bytes, not a list")
    }

    func testTensorViewsThatReachPastTheirStorageAreRefused() {
        let storage = TorchStorageReference(key: "0", dtype: .f32, elementCount: 6)
        XCTAssertNoThrow(
            try TorchTensorReference(storage: storage, dtype: .f32, shape: [2, 3], strides: [3, 1], offset: 0))
        XCTAssertThrowsError(
            try TorchTensorReference(storage: storage, dtype: .f32, shape: [2, 3], strides: [3, 1], offset: 1))
        XCTAssertThrowsError(
            try TorchTensorReference(storage: storage, dtype: .f32, shape: [2, 3], strides: [4, 1], offset: 0))
        XCTAssertThrowsError(
            try TorchTensorReference(storage: storage, dtype: .f32, shape: [-1], strides: [1], offset: 0))
        XCTAssertThrowsError(
            try TorchTensorReference(storage: storage, dtype: .f32, shape: [2, 2], strides: [Int.max, 1], offset: 0))
        XCTAssertNoThrow(
            try TorchTensorReference(storage: storage, dtype: .f32, shape: [0, 9], strides: [9, 1], offset: 99))
        let bytes = TorchStorageReference(key: "1", dtype: .u8, elementCount: 8)
        XCTAssertNoThrow(try TorchTensorReference(storage: bytes, dtype: .f16, shape: [4], strides: [1], offset: 0))
        XCTAssertThrowsError(try TorchTensorReference(storage: bytes, dtype: .f16, shape: [4], strides: [1], offset: 1))
    }
}
