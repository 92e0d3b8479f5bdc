import CFFmpeg
import XCTest

@testable import KinoraMedia

final class X264InstructionSetsTests: XCTestCase {
    func testAVX512IsLeftOutExactlyWhereTheCPUHasIt() throws {
        let hasAVX512 = av_get_cpu_flags() & AV_CPU_FLAG_AVX512 != 0
        XCTAssertEqual(X264InstructionSets.withoutAVX512 != nil, hasAVX512)
        if let parameter = X264InstructionSets.withoutAVX512 {
            let flags = try XCTUnwrap(UInt32(parameter.dropFirst("asm=".count)), parameter)
            XCTAssertTrue(parameter.hasPrefix("asm="), parameter)
            XCTAssertNotEqual(flags, 0, "the other instruction sets stay on")
        }
    }
}
