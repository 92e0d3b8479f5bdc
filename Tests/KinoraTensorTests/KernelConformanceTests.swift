import KinoraKernelCheck
import KinoraReference
import KinoraTensor
import XCTest

/// The conformance check that `kinora-gpu-check` runs on a lent GPU: every case must pass on the test device (so a
/// failure there is the device's, not the case's), and a case fails on a wrong, NaN or thrown result.
final class KernelConformanceTests: TensorTestCase {
    func testEveryCasePassesOnTheTestDeviceAndOnlyTensorCoreCasesSkipWithoutThem() throws {
        let cases = KernelConformance.cases(for: device)
        XCTAssertEqual(Set(cases.map(\.name)).count, cases.count, "case names must be unique")
        for conformanceCase in cases {
            let result = KernelConformance.check(conformanceCase, arena: arena, seed: 20_261_206)
            switch result.status {
            case .pass: continue
            case .skip:
                XCTAssertFalse(device.physical.features.cooperativeMatrix, result.row)
                XCTAssertTrue(result.name.contains("cooperative-matrix"), result.row)
            case .fail: XCTFail(result.row)
            }
        }
    }

    /// A case made from the tensor tests' softmax check, whose device result `tamper` may change.
    private func softmaxCase(tolerance: Double = 1e-6, tamper: @escaping ([Float]) -> [Float] = { $0 })
        -> ConformanceCase {
        ConformanceCase(name: "softmax 3x33", tolerance: tolerance) { context in
            let x = context.values(99, scale: 5)
            let graph = context.graph()
            let y = try graph.softmax(graph.input(x, shape: [3, 33]))
            return .init(actual: tamper(try graph.run([y])[0].floats()),
                         expected: AttentionReference.softmax(x, shape: [3, 33], axis: 1))
        }
    }

    func testAResultOutsideTheToleranceFailsWithItsError() throws {
        XCTAssertEqual(KernelConformance.check(softmaxCase(), arena: arena, seed: 1).status, .pass)
        let wrong = softmaxCase { values in
            values.enumerated().map { $0.offset == 40 ? $0.element + 0.01 : $0.element }
        }
        let result = KernelConformance.check(wrong, arena: arena, seed: 1)
        XCTAssertEqual(result.status, .fail)
        XCTAssertGreaterThan(result.relativeError ?? 0, 1e-6)
        XCTAssertEqual(result.maxAbsoluteError ?? 0, 0.01, accuracy: 1e-4)
        XCTAssertTrue(result.row.hasPrefix("FAIL"), result.row)
    }

    func testNaNOrAMissingValueFailsWhateverTheTolerance() throws {
        for tamper in [{ (values: [Float]) in [Float.nan] + values.dropFirst() }, { Array($0.dropLast()) }] {
            let result = KernelConformance.check(softmaxCase(tolerance: 1e9, tamper: tamper), arena: arena, seed: 1)
            XCTAssertEqual(result.status, .fail, result.row)
            XCTAssertEqual(result.relativeError, .infinity, result.row)
        }
    }

    func testAThrownErrorFailsTheCaseNamingIt() throws {
        let throwing = ConformanceCase(name: "matmul bad shapes", tolerance: 1) { context in
            let graph = context.graph()
            _ = try graph.matmul(graph.input(context.values(6), shape: [2, 3]),
                                 graph.input(context.values(8), shape: [4, 2]))
            return .init(actual: [], expected: [])
        }
        let result = KernelConformance.check(throwing, arena: arena, seed: 1)
        XCTAssertEqual(result.status, .fail)
        XCTAssertTrue(result.note?.contains("inner sizes 3 and 4 differ") == true, result.row)
    }

    func testASkippedCaseDoesNotRun() throws {
        let skipped = ConformanceCase(name: "never", tolerance: 0, skipReason: "no such feature") { _ in
            XCTFail("a skipped case ran")
            return .init(actual: [], expected: [])
        }
        let result = KernelConformance.check(skipped, arena: arena, seed: 1)
        XCTAssertEqual(result.status, .skip)
        XCTAssertNil(result.relativeError)
        XCTAssertEqual(result.note, "no such feature")
    }

    func testTheSeedAndTheCaseNameFixTheInputs() throws {
        var drawn: [[Float]] = []
        for (name, seed) in [("a", 1), ("a", 1), ("a", 2), ("b", 1)] as [(String, UInt64)] {
            let recording = ConformanceCase(name: name, tolerance: 0) { context in
                drawn.append(context.values(4))
                return .init(actual: [0], expected: [0])
            }
            _ = KernelConformance.check(recording, arena: arena, seed: seed)
        }
        XCTAssertEqual(drawn[0], drawn[1])
        XCTAssertNotEqual(drawn[0], drawn[2])
        XCTAssertNotEqual(drawn[0], drawn[3])
    }
}
