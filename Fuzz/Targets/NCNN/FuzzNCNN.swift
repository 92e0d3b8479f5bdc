import FuzzSupport
import KinoraFormats

/// libFuzzer entry: the input split into a `.param` text and a `.bin`, opened and every weight read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNCNN(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let (param, bin) = FuzzInput.split(data, count)
    let paramURL = param.withUnsafeBytes {
        FuzzInput.file("input.param", $0.bindMemory(to: UInt8.self).baseAddress ?? data, $0.count)
    }
    let binURL = bin.withUnsafeBytes {
        FuzzInput.file("input.bin", $0.bindMemory(to: UInt8.self).baseAddress ?? data, $0.count)
    }
    guard let model = try? NCNNModel(paramURL: paramURL, binURL: binURL) else { return 0 }
    for name in model.tensorNames { _ = try? model.floats(name) }
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_ncnn_main")
public func fuzzNCNNMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzNCNN)
}
