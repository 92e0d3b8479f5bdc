import XCTest

@testable import KinoraPipeline

final class PlannerTests: XCTestCase {
    static let gib: UInt64 = 1 << 30

    /// Three SDXL shots at 1024x1024 and a voice line: the 16 GB workstation case with real figures.
    static let sdxlWorkflow = """
        output: {size: 1024x1024}
        models:
          hero: {catalog: sdxl}
          narrator: {catalog: piper-vits}
        shots:
          - {id: a, prompt: a harbour at dawn, duration: 2, final: {model: hero}}
          - {id: b, prompt: a fish market, duration: 2, final: {model: hero}}
          - {id: c, prompt: a lighthouse, duration: 2, final: {model: hero}}
        voices:
          - {text: Every morning the harbour wakes., voice: narrator, start: 0.5}
        """

    /// The same chain with SD 1.5 at 512x512 and every byte figure scaled to a quarter: the 1 GB case.
    static let smallWorkflow = """
        output: {size: 512x512}
        models:
          hero: {catalog: sd15}
          narrator: {catalog: piper-vits}
        shots:
          - {id: a, prompt: a harbour at dawn, duration: 2, final: {model: hero}}
          - {id: b, prompt: a fish market, duration: 2, final: {model: hero}}
          - {id: c, prompt: a lighthouse, duration: 2, final: {model: hero}}
        voices:
          - {text: Every morning the harbour wakes., voice: narrator, start: 0.5}
        """

    /// The stage graph of `text` with every byte figure scaled by `scale`; without `streaming` no model can stream
    /// its weights.
    private func graph(_ text: String, scale: Double = 1, streaming: Bool = true) throws -> StageGraph {
        let catalog = try TestSupport.catalog()
        var families: [String: ModelFamily] = [:]
        for family in catalog.families {
            var scaled = TestSupport.scaled(family, by: scale)
            if !streaming {
                scaled.components = scaled.components.map { component in
                    var component = component
                    component.streamedWeightBytes = nil
                    return component
                }
            }
            families[family.name] = scaled
        }
        return try TestSupport.builder(families: families).build(try Workflow.parse(text, file: "w.yaml"),
                                                                 mode: .final)
    }

    private func plan(_ graph: StageGraph, budget: UInt64) throws -> Plan {
        try Planner(device: DeviceProfile(budgetBytes: budget)).plan(graph)
    }

    /// The run steps of stages of `kind`.
    private func runs(_ plan: Plan, _ kind: StageKind) -> [PlanStep] {
        plan.steps.filter { $0.action == .run && $0.kind == kind }
    }

    /// Checks the invariants every plan must keep.
    private func checkInvariants(_ plan: Plan, _ graph: StageGraph, file: StaticString = #filePath,
                                 line: UInt = #line) {
        XCTAssertLessThanOrEqual(plan.predictedPeakBytes, plan.device.budgetBytes, file: file, line: line)
        for step in plan.steps {
            XCTAssertLessThanOrEqual(step.peakBytes, plan.device.budgetBytes, "\(step)", file: file, line: line)
        }
        // Each model loaded exactly once (the chain is acyclic) and evicted once.
        let models = Set(graph.models.values.map(\.identity.name))
        let once = Dictionary(uniqueKeysWithValues: models.map { ($0, 1) })
        XCTAssertEqual(plan.loadCounts, once, file: file, line: line)
        // Every stage runs exactly once, after its inputs.
        var done: Set<String> = []
        for step in plan.steps where step.action == .run {
            for id in step.stages {
                XCTAssertTrue(graph.stage(id)?.inputs.allSatisfy(done.contains) == true, id, file: file, line: line)
                XCTAssertTrue(done.insert(id).inserted, "\(id) twice", file: file, line: line)
            }
        }
        XCTAssertEqual(done, Set(graph.stages.map(\.id)), file: file, line: line)
        // A model's runs are back to back: between its load and its eviction only its own and host stages run.
        var current: String?
        for step in plan.steps {
            switch step.action {
            case .load: current = step.model
            case .evict: if step.model == current { current = nil }
            case .run:
                if let model = step.model {
                    XCTAssertEqual(model, current, "\(step.stages) ran outside its model's window", file: file,
                                   line: line)
                }
            }
        }
    }

    func testSixteenGigabytesRunsSDXLUntiledWithBatchedGuidance() throws {
        let graph = try graph(Self.sdxlWorkflow)
        let plan = try plan(graph, budget: 16 * Self.gib)
        checkInvariants(plan, graph)
        let denoise = runs(plan, .denoise)
        XCTAssertTrue(denoise.allSatisfy { $0.tactic?.guidance == .batched && $0.tactic?.streamedWeights == false })
        XCTAssertEqual(denoise.map(\.stages.count), [3], "all three shots in one batch")
        XCTAssertTrue(runs(plan, .decode).allSatisfy { $0.tactic?.tileLatentSize == nil })
        XCTAssertEqual(runs(plan, .encodeText).map(\.stages.count), [1, 1, 1], "text encoding runs shot by shot")
    }

    func testTacticsDegradeAsTheBudgetShrinks() throws {
        let graph = try graph(Self.sdxlWorkflow)
        var previousPeak = UInt64.max
        var seen: [String] = []
        for gigabytes in [16.0, 10, 7, 6, 5.5] {
            let budget = UInt64(gigabytes * Double(Self.gib))
            let plan = try plan(graph, budget: budget)
            checkInvariants(plan, graph)
            XCTAssertLessThanOrEqual(plan.predictedPeakBytes, previousPeak)
            previousPeak = plan.predictedPeakBytes
            let denoise = try XCTUnwrap(runs(plan, .denoise).first?.tactic)
            let decode = try XCTUnwrap(runs(plan, .decode).first?.tactic)
            seen.append("\(gigabytes): denoise \(denoise); decode \(decode)")
        }
        XCTAssertEqual(seen, [
            // One untiled 1024² decode takes 6.08 GiB with its weights, three would take 17.9 GiB.
            "16.0: denoise batch 3, CFG batched; decode batch 1",
            "10.0: denoise batch 3, CFG batched; decode batch 1",
            // 4.8 GiB of UNet weights leave room for two guided passes, then one, then one half at a time; below
            // 6.08 GiB the decode tiles.
            "7.0: denoise batch 2, CFG batched; decode batch 1",
            "6.0: denoise batch 1, CFG batched; decode batch 1, tiles 64",
            "5.5: denoise batch 1, CFG sequential; decode batch 1, tiles 64",
        ])
    }

    func testAModelLargerThanTheBudgetStreamsItsWeights() throws {
        // 2 GiB holds SDXL's text encoders but not its 4.8 GiB UNet: the UNet streams block by block, loaded once.
        let graph = try graph(Self.sdxlWorkflow)
        let unet = try XCTUnwrap(graph.models.values.first { $0.identity.name == "hero/denoiser" })
        let plan = try plan(graph, budget: 2 * Self.gib)
        checkInvariants(plan, graph)
        let load = try XCTUnwrap(plan.steps.first { $0.action == .load && $0.model == "hero/denoiser" })
        XCTAssertEqual(load.tactic?.streamedWeights, true)
        XCTAssertEqual(load.weightBytes, unet.streamedWeightBytes)
        XCTAssertLessThan(load.weightBytes, unet.weightBytes / 40)
        XCTAssertTrue(runs(plan, .denoise).allSatisfy { $0.tactic?.streamedWeights == true })
        XCTAssertFalse(plan.steps.contains { $0.model != "hero/denoiser" && $0.tactic?.streamedWeights == true })
        XCTAssertTrue(plan.rendered().contains("load   hero/denoiser  107.74 MiB (weights streamed block by block)"),
                      plan.rendered())
        // Streaming costs a full upload of the weights per pass: the estimate says so.
        let streamedDenoise = runs(plan, .denoise).reduce(0) { $0 + $1.estimatedSeconds }
        let residentDenoise = runs(try self.plan(graph, budget: 16 * Self.gib), .denoise)
            .reduce(0) { $0 + $1.estimatedSeconds }
        XCTAssertGreaterThan(streamedDenoise, residentDenoise)
    }

    func testAModelThatCannotStreamIsRejectedByNameWhenItDoesNotFit() throws {
        // SD 1.5 at a quarter scale: a 430 MB UNet against a 400 MB budget that holds the text encoder.
        let graph = try graph(Self.smallWorkflow, scale: 0.25, streaming: false)
        XCTAssertThrowsError(try plan(graph, budget: 400_000_000)) { error in
            guard case PlanError.doesNotFit(let stage, let model, let needed, _, let tactic) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(stage, "a/denoise")
            XCTAssertEqual(model, "hero/denoiser")
            XCTAssertGreaterThan(needed, 400_000_000)
            XCTAssertFalse(tactic.contains("streamed"), tactic)
            XCTAssertTrue("\(error)".contains("(hero/denoiser)"), "\(error)")
        }
        // The same model able to stream fits.
        let streaming = try self.graph(Self.smallWorkflow, scale: 0.25)
        checkInvariants(try plan(streaming, budget: 400_000_000), streaming)
    }

    func testNoPlanStreamsWeightsWhileAResidentTacticFits() throws {
        let graph = try graph(Self.sdxlWorkflow)
        for gigabytes in [16.0, 10, 7, 6, 5.5] {
            let plan = try plan(graph, budget: UInt64(gigabytes * Double(Self.gib)))
            XCTAssertFalse(plan.steps.contains { $0.tactic?.streamedWeights == true }, "\(gigabytes) GiB")
            XCTAssertFalse(plan.rendered().contains("streamed"), "\(gigabytes) GiB")
        }
    }

    func testOneGigabyteWithScaledModelsStaysUnderBudget() throws {
        let graph = try graph(Self.smallWorkflow, scale: 0.25)
        let roomy = try plan(graph, budget: Self.gib)
        checkInvariants(roomy, graph)
        XCTAssertTrue(runs(roomy, .decode).allSatisfy { $0.tactic?.tileLatentSize == nil })
        let tight = try plan(graph, budget: Self.gib / 2)
        checkInvariants(tight, graph)
        XCTAssertNotEqual(runs(tight, .denoise).map(\.tactic), runs(roomy, .denoise).map(\.tactic))
        // 400 MB: below the 430 MB UNet (it streams) and below an untiled decode (it tiles).
        let tighter = try plan(graph, budget: 400_000_000)
        checkInvariants(tighter, graph)
        XCTAssertTrue(runs(tighter, .denoise).allSatisfy { $0.tactic?.streamedWeights == true })
        XCTAssertTrue(runs(tighter, .decode).allSatisfy { $0.tactic?.tileLatentSize != nil })
        XCTAssertTrue(runs(tight, .decode).allSatisfy { $0.tactic?.tileLatentSize == nil })
    }

    func testEvictsEachModelBeforeTheNextNeedsTheRoom() throws {
        let graph = try graph(Self.sdxlWorkflow)
        let plan = try plan(graph, budget: 16 * Self.gib)
        let actions = plan.steps.filter { $0.action != .run }.map { "\($0.action.rawValue) \($0.model ?? "")" }
        XCTAssertEqual(actions, [
            "load hero/text_encoder", "evict hero/text_encoder", "load hero/denoiser", "evict hero/denoiser",
            "load hero/decoder", "evict hero/decoder", "load narrator/voice", "evict narrator/voice",
        ])
    }

    func testNothingFitsNamesTheStageAndTheSmallestPeak() throws {
        let graph = try graph(Self.sdxlWorkflow)
        XCTAssertThrowsError(try plan(graph, budget: 500_000_000)) { error in
            guard case PlanError.doesNotFit(let stage, let model, let needed, let budget, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(stage, "a/encode-text")
            XCTAssertEqual(model, "hero/text_encoder")
            XCTAssertGreaterThan(needed, budget)
            XCTAssertTrue("\(error)".contains("more than the budget of 476.84 MiB"), "\(error)")
        }
    }

    func testTimeEstimateCountsLoadsAndWork() throws {
        let graph = try graph(Self.sdxlWorkflow)
        let plan = try plan(graph, budget: 16 * Self.gib)
        let loads = plan.steps.filter { $0.action == .load }.reduce(0) { $0 + $1.estimatedSeconds }
        let device = plan.device
        XCTAssertEqual(loads, device.loadSeconds(try XCTUnwrap(graph.models.values.reduce(0) { $0 + $1.weightBytes })),
                       accuracy: 1e-9)
        XCTAssertGreaterThan(runs(plan, .denoise).reduce(0) { $0 + $1.estimatedSeconds }, 0)
        XCTAssertEqual(plan.estimatedSeconds, plan.steps.reduce(0) { $0 + $1.estimatedSeconds }, accuracy: 1e-9)
    }

    /// The estimated seconds of the host stages of `kind` in `plan`.
    private func hostSeconds(_ plan: Plan, _ kind: StageKind) -> Double {
        runs(plan, kind).filter { $0.model == nil }.reduce(0) { $0 + $1.estimatedSeconds }
    }

    func testHostStagesAreEstimatedInProportionToFramesPixelsAndSeconds() throws {
        let base = try plan(graph(Self.smallWorkflow), budget: 16 * Self.gib)
        let longer = try plan(graph(Self.smallWorkflow.replacingOccurrences(of: "duration: 2", with: "duration: 4")),
                              budget: 16 * Self.gib)
        let wider = Self.smallWorkflow.replacingOccurrences(of: "size: 512x512", with: "size: 1024x512")
        let larger = try plan(graph(wider), budget: 16 * Self.gib)
        for kind in [StageKind.animate, .encodeVideo, .mix, .mux] {
            XCTAssertGreaterThan(hostSeconds(base, kind), 0, "\(kind)")
            XCTAssertEqual(hostSeconds(longer, kind), 2 * hostSeconds(base, kind), accuracy: 1e-9, "\(kind)")
        }
        for kind in [StageKind.animate, .encodeVideo] {
            XCTAssertEqual(hostSeconds(larger, kind), 2 * hostSeconds(base, kind), accuracy: 1e-9, "\(kind)")
        }
        XCTAssertGreaterThan(hostSeconds(larger, .mux), hostSeconds(base, .mux))
        XCTAssertEqual(hostSeconds(larger, .mix), hostSeconds(base, .mix), accuracy: 1e-9, "the audio is the same")
        XCTAssertGreaterThan(longer.estimatedSeconds, base.estimatedSeconds)
        XCTAssertGreaterThan(larger.estimatedSeconds, base.estimatedSeconds)
    }
}
