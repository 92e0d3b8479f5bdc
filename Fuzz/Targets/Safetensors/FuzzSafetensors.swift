import FuzzSupport
import KinoraFormats

/// libFuzzer entry: the input as a safetensors file, opened as `kinora` opens weight files (`WeightFile.open`, float8
/// scales included) and every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let url = FuzzInput.file("input.safetensors", data, count)
    guard let file = try? WeightFile.open(url) else { return 0 }
    for name in file.tensorNames { _ = try? file.floats(name) }
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_safetensors_main")
public func fuzzSafetensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzSafetensors)
}
