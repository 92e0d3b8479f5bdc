import Foundation
@testable import KinoraModels
import KinoraTestSupport
import XCTest

/// The installed Piper voice, opened once for all tests (the skip, when it is missing, is rethrown by each).
enum PiperTestVoice {
    static let opened = Result {
        try PiperVoice(model: InstalledPiperVoice.url(), sampleRate: 22050, speakers: 1,
                       device: ValidatedTestDevice.shared)
    }
}

/// Kinora's VITS against onnxruntime running the same voice file (`scripts/fixtures/make_piper_fixtures.py`), with
/// both noise scales 0 so the reference is deterministic.
///
/// Tolerances (relative L2): the waveform 1e-4 and logw 1e-4, both stored in f32 (measured on lavapipe: about
/// 2e-5 and 2e-6); m_p, logs_p and z 1e-3, as the fixture stores them in f16, whose rounding alone is about 2e-4.
/// The durations must match exactly (the fixtures' smallest distance of a duration to a ceil step is 0.012 frames).
final class PiperVoiceConformanceTests: ModelTestCase {
    private func check(case name: String) throws {
        let voice = try PiperTestVoice.opened.get()
        let fixture = try fixture("piper/joe_medium.safetensors")
        let ids = try fixture.floats("\(name).ids").map { Int($0) }
        let scales = try fixture.floats("\(name).scales")
        let started = Date()
        let result = try voice.infer(phonemeIDs: ids, speaker: nil,
                                     scales: PiperScales(noiseScale: scales[0], lengthScale: scales[1],
                                                         noiseW: scales[2]), seed: 0)
        let seconds = Date().timeIntervalSince(started)
        let expectedDurations = try fixture.floats("\(name).durations").map { Int($0) }
        XCTAssertEqual(result.durations, expectedDurations, "\(name): durations")
        guard result.durations == expectedDurations else { return }
        let checks: [(String, [Float], Double)] = [
            ("m_p", result.mean, 1e-3), ("logs_p", result.logScale, 1e-3), ("logw", result.logDurations, 1e-4),
            ("z", result.latent, 1e-3), ("audio", result.audio, 1e-4),
        ]
        var report: [String] = []
        for (tensor, actual, tolerance) in checks {
            let expected = try fixture.floats("\(name).\(tensor)")
            assertClose(actual, expected, tolerance: tolerance, "\(name): \(tensor)")
            report.append("\(tensor) \(String(format: "%.1e", relativeL2(actual, expected)))")
        }
        print("\(name): \(ids.count) ids → \(result.audio.count) samples in \(String(format: "%.1f", seconds)) s; "
            + "relative L2 " + report.joined(separator: ", "))
    }

    func testVITSMatchesOnnxruntimeOnHello() throws { try check(case: "hello") }
    func testVITSMatchesOnnxruntimeWithLengthScale() throws { try check(case: "ready") }
    func testVITSMatchesOnnxruntimeBelowTheAttentionWindow() throws { try check(case: "short") }
}
