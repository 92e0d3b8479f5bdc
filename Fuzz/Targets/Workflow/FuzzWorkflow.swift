import FuzzSupport
import KinoraPipeline

/// libFuzzer entry: the input as a workflow YAML file, parsed and validated.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWorkflow(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    _ = try? Workflow.parse(text, file: "input.yaml")
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_workflow_main")
public func fuzzWorkflowMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzWorkflow)
}
