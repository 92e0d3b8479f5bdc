import Foundation
import KinoraGPU
import KinoraTestSupport
import XCTest

@testable import KinoraPipeline

/// Paths and builders shared by the KinoraPipeline tests.
enum TestSupport {
    /// The package root (three levels above this file).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let catalogFolder = root.appendingPathComponent("models")
    /// A workflow of three stills with camera moves, two voice lines and a music bed (the demo of earlier rounds).
    static let stills = root.appendingPathComponent("Tests/Fixtures/workflow/stills.yaml")
    /// The README's main job: video shots, upscaling, interpolation, a generated cue.
    static let demo = root.appendingPathComponent("examples/demo.yaml")

    static func catalog() throws -> ModelCatalog {
        try ModelCatalog.load(directory: catalogFolder)
    }

    /// A fresh empty folder under the temporary directory, removed after the test.
    static func temporaryFolder(_ testCase: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("kinora-pipeline-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A family with every byte figure multiplied by `scale` (to simulate a smaller or larger device).
    static func scaled(_ family: ModelFamily, by scale: Double) -> ModelFamily {
        var copy = family
        copy.components = family.components.map { component in
            var component = component
            component.weightBytes.value *= scale
            component.streamedWeightBytes?.value *= scale
            component.activation = component.activation.mapValues { figure in
                var figure = figure
                figure.value *= scale
                return figure
            }
            return component
        }
        return copy
    }

    /// Catalog-backed models with identities from the reference's name (no files needed); `families` overrides
    /// catalog entries.
    static func provider(families: [String: ModelFamily] = [:]) -> StageGraphBuilder.ModelProvider {
        { reference, family, role in
            let family = families[family.name] ?? family
            let identity = ModelIdentity(name: "\(reference.name)/\(role.rawValue)", family: family.name,
                                         component: role.rawValue, fingerprint: "test:\(reference.name)",
                                         precision: reference.precision.rawValue)
            guard let model = CatalogStageModel(family: family, role: role, identity: identity) else {
                throw StageGraphError.invalid([SourceIssue(location: reference.location, field: reference.name,
                                                           message: "\(family.name) has no \(role.rawValue)")])
            }
            return model
        }
    }

    static func builder(families: [String: ModelFamily] = [:]) throws -> StageGraphBuilder {
        StageGraphBuilder(catalog: try catalog(), provideModel: provider(families: families),
                          fingerprint: { "test-file:\($0)" })
    }

    static func stillsWorkflow() throws -> Workflow {
        try Workflow.load(contentsOf: stills)
    }
}

/// A `StageRunner` that records every call and writes a small file per stage; it can be told to fail ("be killed")
/// when it reaches a given stage.
final class RecordingRunner: StageRunner {
    enum Call: Equatable {
        case load(String, streamed: Bool)
        case evict(String)
        case run([String])
    }

    struct Killed: Error {}

    var calls: [Call] = []
    var failAt: String?
    var measuredPeak: UInt64?

    var ranStages: [String] {
        calls.flatMap { call -> [String] in
            if case .run(let ids) = call { return ids }
            return []
        }
    }

    func load(_ model: any StageModel, streamed: Bool) throws {
        calls.append(.load(model.identity.name, streamed: streamed))
    }

    func evict(_ model: any StageModel) throws {
        calls.append(.evict(model.identity.name))
    }

    func run(_ stages: [Stage], model: (any StageModel)?, tactic: Tactic?, inputs: [String: URL],
             outputs: [String: URL], step: (String, Int) -> Void) throws -> UInt64? {
        for stage in stages {
            guard let folder = outputs[stage.id] else { throw Killed() }
            if stage.id == failAt {
                // A partial result on disk, as a killed process would leave it.
                try Data("partial".utf8).write(to: folder.appendingPathComponent("result.txt"))
                throw Killed()
            }
            for input in stage.inputs where inputs[input] == nil { throw Killed() }
            try Data("result of \(stage.id)".utf8).write(to: folder.appendingPathComponent("result.txt"))
            for done in 1...stage.steps { step(stage.id, done) }
        }
        calls.append(.run(stages.map(\.id)))
        return measuredPeak
    }
}

/// A progress sink that keeps every event.
final class EventLog: ProgressSink {
    var events: [ProgressEvent] = []

    func receive(_ event: ProgressEvent) {
        events.append(event)
    }
}

extension TestSupport {
    /// `text` written as a workflow file in a temporary folder of `test` and prepared for a final render with the
    /// shipped catalog, a 1 GiB budget, and `planningDevice` (the shared validated device unless told otherwise)
    /// planning video and music models.
    static func prepare(_ text: String, for test: XCTestCase,
                        planningDevice: GPUDevice? = ValidatedTestDevice.shared) throws -> RenderPreparation {
        let workflow = try temporaryFolder(test).appendingPathComponent("workflow.yaml")
        try Data(text.utf8).write(to: workflow)
        return try RenderPreparation.prepare(
            workflow: workflow, mode: .final, catalogFolder: catalogFolder,
            searchPaths: ModelSearchPaths(roots: [catalogFolder]), device: DeviceProfile(budgetBytes: 1 << 30),
            planningDevice: planningDevice)
    }
}

/// Edits of a workflow's text and what they are refused with, shared by the workflow-validation tests.
extension TestSupport {
    /// `text` with `old`, which must be there, replaced by `new`.
    static func replacing(_ old: String, with new: String, in text: String, file: StaticString = #filePath,
                          line: UInt = #line) -> String {
        XCTAssertTrue(text.contains(old), "no '\(old)'", file: file, line: line)
        return text.replacingOccurrences(of: old, with: new)
    }

    /// The problems `build` reports (a `WorkflowError`'s or a `StageGraphError.invalid`'s issues); fails the test
    /// when it builds, or throws anything else.
    static func issues(file: StaticString = #filePath, line: UInt = #line, _ build: () throws -> Void)
        -> [SourceIssue] {
        do {
            try build()
            XCTFail("expected the workflow to be rejected", file: file, line: line)
        } catch let error as WorkflowError {
            return error.issues
        } catch StageGraphError.invalid(let issues) {
            return issues
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return []
    }

    /// Asserts that the issues an `edit` of the workflow `workflowFile` gave are exactly `fields`, the first on
    /// `line`, saying `message` and described from `workflowFile:line:`.
    static func assertRefused(
        _ found: [SourceIssue], fields: [String], line: Int, message: String, edit: String,
        workflowFile: String = "w.yaml", file: StaticString = #filePath, line testLine: UInt = #line
    ) {
        XCTAssertEqual(found.map(\.field), fields, edit, file: file, line: testLine)
        XCTAssertEqual(found.first?.location.line, line, edit, file: file, line: testLine)
        XCTAssertTrue(found.first?.message.contains(message) == true, "\(found.first?.description ?? "none")",
                      file: file, line: testLine)
        XCTAssertTrue(found.first?.description.hasPrefix("\(workflowFile):\(line):") == true, edit, file: file,
                      line: testLine)
    }
}
