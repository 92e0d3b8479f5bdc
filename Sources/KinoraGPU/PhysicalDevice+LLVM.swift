/// The LLVM a CPU driver compiles shaders with, which decides what its compiler can afford.
extension PhysicalDevice {
    /// The major version of the LLVM Mesa's llvmpipe (lavapipe) compiles shaders with, from its driver info
    /// (`Mesa 26.1.6 (LLVM 19.1.7)`); nil for other drivers.
    public var llvmMajorVersion: Int? { Self.llvmMajorVersion(driverInfo: driverInfo) }

    /// The major version in `(LLVM X.Y.Z)` of a driver info string, nil without one.
    public static func llvmMajorVersion(driverInfo: String) -> Int? {
        guard let range = driverInfo.range(of: "(LLVM ") else { return nil }
        let digits = driverInfo[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }
}
