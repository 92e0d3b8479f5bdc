import Foundation
import FuzzSupport
import KinoraModels

/// libFuzzer entry: the input as a SentencePiece `spiece.model` (protobuf, charsmap trie, pieces); when it loads,
/// prompts that walk the normalizer's trie and the unigram lattice are encoded with it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSentencePiece(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let tokenizer = try? T5Tokenizer(sentencePieceModel: Data(bytes: data, count: count)) else { return 0 }
    for prompt in FuzzPrompts.all { _ = tokenizer.encode(prompt, maximumLength: 64) }
    return 0
}

/// The executable's entry point (see `FuzzDriver`).
@_cdecl("fuzz_sentencepiece_main")
public func fuzzSentencePieceMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> CInt {
    FuzzDriver.run(argc, argv, fuzzSentencePiece)
}
