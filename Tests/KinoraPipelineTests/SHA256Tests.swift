import XCTest

@testable import KinoraPipeline

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 / NIST CAVS example vectors.
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                                  + "klmnopqrlmnopqrsmnopqrstnopqrstu"),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testOneMillionAs() {
        var hash = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hash.update(chunk) }
        XCTAssertEqual(hash.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalUpdatesAtEveryBoundaryMatchOneShot() {
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        var whole = SHA256()
        whole.update(bytes)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 199] {
            var parts = SHA256()
            parts.update(bytes[..<split])
            parts.update(AnySequence(bytes[split...]))
            XCTAssertEqual(parts.hexDigest(), whole.hexDigest(), "split at \(split)")
        }
    }
}
