import XCTest

@testable import KinoraModels

/// `FrameRateStream`: which output frames are copies, which are made between two source frames, and which repeat the
/// earlier frame because a cut lies between them.
final class FrameRateStreamTests: XCTestCase {
    /// Doubles four source frames (numbered 0…3, all alike to the scene-cut test) and returns the output: a source
    /// frame's number, or -1 for a frame made between two.
    private func doubled(cuts: Set<Int>) throws -> (frames: [Int], summary: FrameRateStream<Int>.Summary) {
        let stream = FrameRateStream<Int>(conversion: try FrameRateConversion(input: (1, 1), output: (2, 1)),
                                          cuts: cuts)
        var next = 0
        var written: [Int] = []
        let summary = try stream.run(
            read: {
                defer { next += 1 }
                return next < 4 ? next : nil
            },
            planes: { _ in ([Float](repeating: 0.5, count: 3 * 8 * 8), 8, 8) },
            between: { _, _, _, _, timesteps in timesteps.map { _ in -1 } },
            write: { written.append($0) })
        return (written, summary)
    }

    func testAListedCutRepeatsTheEarlierFrameInsteadOfMorphingAcrossIt() throws {
        let morphed = try doubled(cuts: [])
        XCTAssertEqual(morphed.frames, [0, -1, 1, -1, 2, -1, 3])
        XCTAssertEqual(morphed.summary.cuts, 0)
        // Frame 2 begins a new shot: the frame between 1 and 2 repeats 1; the others are still made.
        let cut = try doubled(cuts: [2])
        XCTAssertEqual(cut.frames, [0, -1, 1, 1, 2, -1, 3])
        XCTAssertEqual([cut.summary.cuts, cut.summary.interpolated, cut.summary.written], [1, 2, 7])
    }
}
