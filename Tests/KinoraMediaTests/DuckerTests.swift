import XCTest

@testable import KinoraMedia

final class DuckerTests: XCTestCase {
    func testGainFallsToReductionUnderKeyAndRecoversAfter() throws {
        var key = try AudioBuffer(silenceOf: 48000 * 3, sampleRate: 48000, channels: 1)
        for frame in 48000..<96000 { key[frame, 0] = frame % 100 < 50 ? 0.5 : -0.5 }
        let curve = Ducker(settings: DuckingSettings(reductionDB: -12, release: 0.2), sampleRate: 48000).gainCurve(key: key)
        XCTAssertEqual(curve[40000], 1, accuracy: 1e-6)
        XCTAssertEqual(curve[80000], Float(pow(10, -12.0 / 20)), accuracy: 0.01)
        XCTAssertEqual(curve[48000 * 3 - 1], 1, accuracy: 0.03)
    }
}
