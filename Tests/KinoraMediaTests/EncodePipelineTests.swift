import Foundation
import XCTest

@testable import KinoraMedia

final class EncodePipelineTests: XCTestCase {
    private final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int64] = []

        func append(_ value: Int64) {
            lock.lock()
            values.append(value)
            lock.unlock()
        }

        var all: [Int64] {
            lock.lock()
            defer { lock.unlock() }
            return values
        }
    }

    private struct Refused: Error, Equatable {}

    func testPicturesAreEncodedInOrderWithAFixedSetOfBuffers() throws {
        let log = Log()
        let pictures = try (0..<2).map { _ in try Frame() }
        let pipeline = EncodePipeline(pictures: pictures) { log.append($0.pts) }
        var seen = Set<ObjectIdentifier>()
        for index in 0..<20 {
            let picture = try pipeline.take()
            seen.insert(ObjectIdentifier(picture))
            picture.pts = Int64(index)
            pipeline.submit(picture)
        }
        try pipeline.finish()
        XCTAssertEqual(log.all, (0..<20).map(Int64.init))
        XCTAssertEqual(seen, Set(pictures.map(ObjectIdentifier.init)))
    }

    func testAnEncodingErrorReachesTheCaller() throws {
        let pipeline = EncodePipeline(pictures: [try Frame()]) { picture in
            if picture.pts == 1 { throw Refused() }
        }
        var thrown: Error?
        for index in 0..<10 {
            do {
                let picture = try pipeline.take()
                picture.pts = Int64(index)
                pipeline.submit(picture)
            } catch {
                thrown = error
                break
            }
        }
        XCTAssertEqual(thrown as? Refused, Refused())
        XCTAssertThrowsError(try pipeline.finish()) { XCTAssertEqual($0 as? Refused, Refused()) }
    }
}
