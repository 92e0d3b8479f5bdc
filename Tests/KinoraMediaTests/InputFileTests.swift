import Foundation
import XCTest

@testable import KinoraMedia

final class InputFileTests: XCTestCase {
    /// What a reader running on its own thread ended with.
    private final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }

    /// A FIFO in a fresh temporary folder.
    private func fifo(named name: String) throws -> URL {
        let folder = try TestSupport.temporaryDirectory()
        let url = folder.appendingPathComponent(name)
        XCTAssertEqual(mkfifo(url.path, 0o600), 0)
        return url
    }

    /// Runs `read` on a thread of its own and returns its error; a read still blocked after five seconds is unblocked
    /// (by opening the FIFO's writing end) and fails the test.
    private func error(reading fifo: URL, _ read: @escaping @Sendable () throws -> Void) -> (any Error)? {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { try read() } catch { outcome.error = error }
            done.signal()
        }
        if done.wait(timeout: .now() + 5) == .timedOut {
            XCTFail("reading \(fifo.path) blocked")
            let descriptor = open(fifo.path, O_WRONLY)
            close(descriptor)
            done.wait()
        }
        return outcome.error
    }

    func testAFIFOInPlaceOfAnAudioFileIsRefusedByItsKindWithoutBlocking() throws {
        let url = try fifo(named: "music.wav")
        let error = error(reading: url) { _ = try AudioFile.read(url) }
        XCTAssertEqual(error as? MediaError, .notARegularFile(path: url.path, kind: "a FIFO (named pipe)"))
        XCTAssertTrue(String(describing: try XCTUnwrap(error)).contains("not a regular file"))
    }

    func testAFIFOInPlaceOfAnImageIsRefusedWithoutBlocking() throws {
        let url = try fifo(named: "init.png")
        let error = error(reading: url) { _ = try VideoReader(url: url) }
        XCTAssertEqual(error as? MediaError, .notARegularFile(path: url.path, kind: "a FIFO (named pipe)"))
    }

    func testAFIFOInPlaceOfAVideoWhoseSoundIsReadIsRefusedWithoutBlocking() throws {
        let url = try fifo(named: "clip.mp4")
        let error = error(reading: url) { _ = try AudioTrackReader.read(url) }
        XCTAssertEqual(error as? MediaError, .notARegularFile(path: url.path, kind: "a FIFO (named pipe)"))
    }

    func testRegularAndMissingFilesAreLeftToTheirReaders() throws {
        let folder = try TestSupport.temporaryDirectory()
        let file = folder.appendingPathComponent("a.txt")
        try Data("x".utf8).write(to: file)
        XCTAssertNoThrow(try InputFile.requireRegular(file))
        XCTAssertNoThrow(try InputFile.requireRegular(folder.appendingPathComponent("missing.wav")))
        XCTAssertThrowsError(try InputFile.requireRegular(folder))
    }
}
