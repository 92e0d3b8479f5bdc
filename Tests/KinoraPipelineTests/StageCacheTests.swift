import Foundation
import XCTest

@testable import KinoraPipeline

final class StageCacheTests: XCTestCase {
    /// A clock the test advances by hand.
    final class FakeClock: @unchecked Sendable {
        var now = Date(timeIntervalSince1970: 1_000_000)
        func advance() { now += 10 }
    }

    private func write(_ bytes: Int) -> (URL) throws -> Void {
        { try Data(repeating: 7, count: bytes).write(to: $0.appendingPathComponent("out.bin")) }
    }

    func testStoreThenLookupReturnsTheFiles() throws {
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        XCTAssertNil(cache.lookup("k1"))
        let stored = try cache.store("k1", write: write(100))
        XCTAssertEqual(stored.bytes, 100)
        let found = try XCTUnwrap(cache.lookup("k1"))
        XCTAssertEqual(try Data(contentsOf: found.folder.appendingPathComponent("out.bin")).count, 100)
    }

    func testFailedWriteLeavesNoEntry() throws {
        let root = try TestSupport.temporaryFolder(self)
        let cache = try StageCache(root: root)
        struct Boom: Error {}
        XCTAssertThrowsError(try cache.store("k1") { folder in
            try Data("half".utf8).write(to: folder.appendingPathComponent("out.bin"))
            throw Boom()
        })
        XCTAssertNil(cache.lookup("k1"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("tmp").path), [])
    }

    func testPartialEntriesOfAKilledWriterAreIgnoredAndCleanedUp() throws {
        let root = try TestSupport.temporaryFolder(self)
        _ = try StageCache(root: root)
        // A writer that died mid-entry (pid 2147483646 does not run) and an entry whose file was truncated.
        let abandoned = root.appendingPathComponent("tmp/k1.2147483646.1")
        try FileManager.default.createDirectory(at: abandoned, withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: abandoned.appendingPathComponent("out.bin"))
        let cache = try StageCache(root: root)
        XCTAssertFalse(FileManager.default.fileExists(atPath: abandoned.path))
        XCTAssertNil(cache.lookup("k1"))
        let entry = try cache.store("k2", write: write(64))
        try Data(repeating: 7, count: 10).write(to: entry.folder.appendingPathComponent("out.bin"))
        XCTAssertNil(cache.lookup("k2"), "a file whose size differs from the manifest invalidates the entry")
        let noManifest = root.appendingPathComponent("entries/k3")
        try FileManager.default.createDirectory(at: noManifest, withIntermediateDirectories: true)
        XCTAssertNil(cache.lookup("k3"))
    }

    func testEvictsLeastRecentlyUsedFirst() throws {
        let clock = FakeClock()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self), sizeLimit: 300,
                                   clock: { clock.now })
        for key in ["a", "b", "c"] {
            try cache.store(key, write: write(100))
            clock.advance()
        }
        XCTAssertNotNil(cache.lookup("a"))  // a is now the most recently used
        clock.advance()
        try cache.store("d", write: write(100))
        XCTAssertEqual(cache.entries().map(\.key), ["c", "a", "d"])
        clock.advance()
        try cache.store("e", write: write(150))
        XCTAssertEqual(cache.entries().map(\.key), ["d", "e"])
        XCTAssertLessThanOrEqual(cache.totalBytes, 300)
    }

    func testAnEntryLargerThanTheLimitIsStillKeptUntilTheNext() throws {
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self), sizeLimit: 50)
        try cache.store("big", write: write(100))
        XCTAssertNotNil(cache.lookup("big"))
        try cache.clear()
        XCTAssertEqual(cache.entries().count, 0)
    }

    func testPinnedEntriesOutliveTheLimitUntilUnpinnedAndTrimmed() throws {
        let clock = FakeClock()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self), sizeLimit: 150,
                                   clock: { clock.now })
        cache.pin(["a", "b"])
        for key in ["a", "b", "c"] {
            try cache.store(key, write: write(100))
            clock.advance()
        }
        XCTAssertEqual(cache.entries().map(\.key), ["a", "b", "c"], "a and b are pinned, c is the newest")
        try cache.store("d", write: write(100))
        XCTAssertEqual(cache.entries().map(\.key), ["a", "b", "d"])
        cache.unpin(["a", "b"])
        cache.trim()
        XCTAssertEqual(cache.entries().map(\.key), ["d"])
    }

    func testAKeyPinnedTwiceStaysUntilBothUnpin() throws {
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self), sizeLimit: 50)
        cache.pin(["a"])
        cache.pin(["a"])
        try cache.store("a", write: write(100))
        cache.unpin(["a"])
        cache.trim()
        XCTAssertNotNil(cache.lookup("a"))
        cache.unpin(["a"])
        cache.trim()
        XCTAssertNil(cache.lookup("a"))
    }

    func testAValidEntryStoredMeanwhileByAnotherWriterIsKept() throws {
        let root = try TestSupport.temporaryFolder(self)
        let cache = try StageCache(root: root), other = try StageCache(root: root)
        let stored = try cache.store("k") { folder in
            // Another process finishes the same key while this one is still writing.
            try other.store("k") { try Data("first".utf8).write(to: $0.appendingPathComponent("out.bin")) }
            try Data("second".utf8).write(to: folder.appendingPathComponent("out.bin"))
        }
        XCTAssertEqual(String(decoding: try Data(contentsOf: stored.folder.appendingPathComponent("out.bin")),
                              as: UTF8.self), "first", "the existing entry is never replaced")
        XCTAssertEqual(stored.bytes, 5)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("tmp").path), [])
    }

    func testADamagedEntryInTheWayIsReplaced() throws {
        let root = try TestSupport.temporaryFolder(self)
        let cache = try StageCache(root: root)
        let damaged = root.appendingPathComponent("entries/k")
        try FileManager.default.createDirectory(at: damaged, withIntermediateDirectories: true)
        try Data("junk".utf8).write(to: damaged.appendingPathComponent("leftover.bin"))
        let stored = try cache.store("k", write: write(10))
        XCTAssertEqual(stored.bytes, 10)
        XCTAssertNotNil(cache.lookup("k"))
    }
}
