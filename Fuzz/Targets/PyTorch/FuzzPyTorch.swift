import FuzzSupport
import KinoraFormats

/// libFuzzer entry: the input as a PyTorch checkpoint (zip or legacy pickle), opened through `WeightFile.open` and
/// every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPyTorch(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let url = FuzzInput.file("input.pt", data, count)
    guard let store = try? WeightFile.open(url) else { return 0 }
    for name in store.tensorNames { _ = try? store.floats(name) }
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_pytorch_main")
public func fuzzPyTorchMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzPyTorch)
}
