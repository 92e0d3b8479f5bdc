import FuzzSupport
import KinoraFormats

/// libFuzzer entry: the input as an ONNX model, opened and every initializer read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let url = FuzzInput.file("input.onnx", data, count)
    guard let file = try? ONNXFile(url: url) else { return 0 }
    for name in file.tensorNames { _ = try? file.floats(name) }
    for node in file.nodes { _ = file.consumers(of: node.name) }
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_onnx_main")
public func fuzzONNXMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzONNX)
}
