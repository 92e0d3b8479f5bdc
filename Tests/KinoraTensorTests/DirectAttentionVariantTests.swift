import KinoraGPU
import XCTest

@testable import KinoraTensor

/// Which head dims the direct attention kernel (CPU drivers) runs with its head-dim loops unrolled: up to 64 where
/// the driver's LLVM compiles the unrolled d128 kernel slowly (LLVM 15: about 16 s), up to 128 from LLVM 19.
final class DirectAttentionVariantTests: TensorTestCase {
    func testTheLLVMVersionIsReadFromLavapipesDriverInfo() {
        XCTAssertEqual(PhysicalDevice.llvmMajorVersion(driverInfo: "Mesa 22.3.6 (LLVM 15.0.6)"), 15)
        XCTAssertEqual(PhysicalDevice.llvmMajorVersion(driverInfo: "Mesa 26.1.6-1~bpo13+1 (LLVM 19.1.7)"), 19)
        XCTAssertNil(PhysicalDevice.llvmMajorVersion(driverInfo: "560.35.03"), "NVIDIA's driver info")
        XCTAssertNil(PhysicalDevice.llvmMajorVersion(driverInfo: "Mesa 24.0 (LLVM )"))
        XCTAssertNil(PhysicalDevice.llvmMajorVersion(driverInfo: ""))
    }

    func testHeadDim128UnrollsOnlyFromLLVM19() {
        XCTAssertEqual([nil, 15, 18, 19, 20].map { Graph.directAttentionUnrolledHeadDim(llvmMajorVersion: $0) },
                       [64, 64, 64, 128, 128])
        let expected = (PhysicalDevice.llvmMajorVersion(driverInfo: device.physical.driverInfo) ?? 0) >= 19 ? 128 : 64
        XCTAssertEqual(Graph.directAttentionUnrolledHeadDim(on: device), expected, device.physical.driverInfo)
    }
}
