import Foundation
import XCTest

@testable import KinoraMedia

final class ErrorTextTests: XCTestCase {
    func testAFullDiskIsThePathAndThePlainReasonNotFoundationsDump() {
        let full = NSError(domain: NSCocoaErrorDomain, code: 640, userInfo: [NSFilePathErrorKey: "/out/mix.wav"])
        XCTAssertEqual(ErrorText.plain(full), "/out/mix.wav: no space left on device")
        let wrapped = NSError(domain: NSCocoaErrorDomain, code: 512, userInfo: [
            NSFilePathErrorKey: "/out/stems", NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: 20),
        ])
        XCTAssertEqual(ErrorText.plain(wrapped), "/out/stems: Not a directory")
        XCTAssertFalse(ErrorText.plain(full).contains("NSCocoaErrorDomain"))
    }

    func testOtherErrorsKeepTheirOwnDescription() {
        let error = MediaError.noFrames(path: "a.mp4")
        XCTAssertEqual(ErrorText.plain(error), error.description)
    }
}
