import Foundation
import FuzzSupport
import KinoraModels

/// libFuzzer entry: the input as a Hugging Face `tokenizer.json` of a unigram (T5/UMT5) tokenizer; when it loads,
/// prompts that walk its normalizers, pre-tokenizer, added tokens and lattice are encoded with it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let tokenizer = try? T5Tokenizer(tokenizerJSON: Data(bytes: data, count: count)) else { return 0 }
    for prompt in FuzzPrompts.all { _ = tokenizer.encode(prompt, maximumLength: 64) }
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_tokenizer_json_main")
public func fuzzTokenizerJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> CInt {
    FuzzDriver.run(argc, argv, fuzzTokenizerJSON)
}
