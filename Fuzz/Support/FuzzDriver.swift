/// libFuzzer's driver, called from the executable's entry point. SwiftPM names an executable's entry point
/// `<module>_main` and aliases `main` to it, so libFuzzer's own `main` is not used; each harness's entry point hands
/// its arguments and test function to `LLVMFuzzerRunDriver` instead.
public typealias FuzzTestFunction = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ test: FuzzTestFunction
) -> CInt

public enum FuzzDriver {
    public static func run(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ test: FuzzTestFunction
    ) -> CInt {
        var count = argc
        var arguments = argv
        return runDriver(&count, &arguments, test)
    }
}
