import Foundation
import XCTest

@testable import KinoraPipeline

/// Replays the workflow fuzz harness's kept inputs (`Fuzz/Targets/Workflow`, `scripts/fuzz.sh workflow`): the
/// seeds it starts from and every input it ever made crash or hang, kept under `Tests/Fixtures/fuzz/workflow/`. Each
/// must parse or fail with a `WorkflowError`; a crash fails the run.
final class WorkflowFuzzRegressionTests: XCTestCase {
    func testKeptWorkflowInputsParseOrFailWithAnError() throws {
        let kept = TestSupport.root.appendingPathComponent("Tests/Fixtures/fuzz/workflow")
        let keptFiles = (try? FileManager.default.contentsOfDirectory(at: kept, includingPropertiesForKeys: nil)) ?? []
        for file in keptFiles + [TestSupport.stills, TestSupport.demo] {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            do {
                _ = try Workflow.parse(text, file: file.lastPathComponent)
            } catch {
                XCTAssertTrue(error is WorkflowError, "\(file.lastPathComponent): \(type(of: error)) \(error)")
            }
        }
    }
}
