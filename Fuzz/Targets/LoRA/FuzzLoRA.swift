import FuzzSupport
import KinoraFormats

/// libFuzzer entry: the input as a LoRA safetensors file, its keys paired and checked and every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoRA(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let url = FuzzInput.file("input.safetensors", data, count)
    guard let lora = try? LoRAFile(url: url) else { return 0 }
    for name in lora.store.tensorNames { _ = try? lora.store.floats(name) }
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_lora_main")
public func fuzzLoRAMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzLoRA)
}
