import Foundation
import KinoraMedia
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
        XCTAssertEqual(cache.lookup("k1"), .miss)
        let stored = try cache.store("k1", write: write(100))
        XCTAssertEqual(stored.bytes, 100)
        let found = try XCTUnwrap(cache.lookup("k1").entry)
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
        XCTAssertEqual(cache.lookup("k1"), .miss)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("tmp").path), [])
    }

    func testPartialEntriesOfAKilledWriterAreIgnoredAndCleanedUp() throws {
        let root = try TestSupport.temporaryFolder(self)
        _ = try StageCache(root: root)
        // A writer that died mid-entry (pid 2147483646 does not run).
        let abandoned = root.appendingPathComponent("tmp/k1.2147483646.1")
        try FileManager.default.createDirectory(at: abandoned, withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: abandoned.appendingPathComponent("out.bin"))
        let cache = try StageCache(root: root)
        XCTAssertFalse(FileManager.default.fileExists(atPath: abandoned.path))
        XCTAssertEqual(cache.lookup("k1"), .miss)
    }

    func testATemporaryOfAnEarlierProcessWithThisIdIsRemovedAndThisProcesssIsKept() throws {
        let root = try TestSupport.temporaryFolder(self)
        _ = try StageCache(root: root)
        let current = WriterProcess.current
        let start = try XCTUnwrap(current.startTime, "this system records process start times")
        // The id was reused: the process that wrote this started at another time and has ended.
        let reused = root.appendingPathComponent("tmp/k1.\(current.pid)-\(start + 1).1")
        let running = root.appendingPathComponent("tmp/k2.\(current).2")
        for folder in [reused, running] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        _ = try StageCache(root: root)
        XCTAssertFalse(FileManager.default.fileExists(atPath: reused.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: running.path))
    }

    func testAnotherMachinesTemporariesOnASharedCacheAreLeftAlone() throws {
        let root = try TestSupport.temporaryFolder(self)
        _ = try StageCache(root: root)
        // Killed writers: one of this machine, one of a machine sharing the folder (its process id does not run
        // here, which says nothing about there).
        let here = root.appendingPathComponent("tmp/k1.\(MachineName.tag).2147483646.1")
        let there = root.appendingPathComponent("tmp/k1.other-node_7.2147483646.2")
        for folder in [here, there] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let cache = try StageCache(root: root)
        XCTAssertFalse(FileManager.default.fileExists(atPath: here.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: there.path))
        // What this process writes carries this machine's name.
        let work = cache.makeWorkFolder()
        XCTAssertTrue(work.lastPathComponent.hasPrefix("work.\(MachineName.tag).\(WriterProcess.current)."),
                      work.lastPathComponent)
        XCTAssertFalse(MachineName.tag.contains("."))
    }

    func testAnEntryWhoseFileChangedSizeIsDiscardedAtLookup() throws {
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        let entry = try cache.store("k", write: write(64))
        // Truncated, as a full disk or a killed copy leaves a file.
        try Data(repeating: 7, count: 10).write(to: entry.folder.appendingPathComponent("out.bin"))
        XCTAssertEqual(cache.damage("k"), "out.bin holds 10 bytes, its manifest.json says 64")
        XCTAssertTrue(FileManager.default.fileExists(atPath: entry.folder.path), "asking about damage changes nothing")
        XCTAssertEqual(cache.lookup("k"), .discarded(reason: "out.bin holds 10 bytes, its manifest.json says 64"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: entry.folder.path), "the damaged entry is removed")
        XCTAssertEqual(cache.lookup("k"), .miss, "reported once")
        try cache.store("k", write: write(64))
        XCTAssertEqual(cache.lookup("k").entry?.bytes, 64)
    }

    func testAnEntryMissingAFileOrAManifestIsDiscardedAtLookup() throws {
        let root = try TestSupport.temporaryFolder(self)
        let cache = try StageCache(root: root)
        let manifest = StageCache.manifestName
        let damages: [(String, (URL) throws -> Void, String)] = [
            ("file", { try FileManager.default.removeItem(at: $0.appendingPathComponent("out.bin")) },
             "out.bin is missing"),
            ("manifest", { try FileManager.default.removeItem(at: $0.appendingPathComponent(manifest)) },
             "its manifest.json is missing"),
            ("json", { try Data("{\"files\": {\"out.bin\"".utf8).write(to: $0.appendingPathComponent(manifest)) },
             "its manifest.json is not a manifest: The given data was not valid JSON."),
            ("shape", { try Data(#"{"files": ["out.bin"]}"#.utf8).write(to: $0.appendingPathComponent(manifest)) },
             "its manifest.json is not a manifest: 'files': Expected to decode Dictionary<String, Any> but found an "
                + "array instead."),
        ]
        for (key, damage, reason) in damages {
            let entry = try cache.store(key, write: write(32))
            try damage(entry.folder)
            XCTAssertEqual(cache.lookup(key), .discarded(reason: reason), key)
            XCTAssertFalse(FileManager.default.fileExists(atPath: entry.folder.path), key)
        }
        let bare = root.appendingPathComponent("entries/bare")
        try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
        XCTAssertEqual(cache.lookup("bare"), .discarded(reason: "its manifest.json is missing"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("entries").path),
                       [])
    }

    func testNothingOutsideTheCacheIsEverRemoved() throws {
        let parent = try TestSupport.temporaryFolder(self)
        let root = parent.appendingPathComponent("cache")
        let cache = try StageCache(root: root)
        let outside = parent.appendingPathComponent("precious")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: outside.appendingPathComponent("out.bin"))
        for key in ["../../precious", "..", ".", "", "a/b"] {
            XCTAssertEqual(cache.lookup(key), .miss, key)
            XCTAssertThrowsError(try cache.remove(key), key)
            XCTAssertThrowsError(try cache.store(key, write: write(1)), key)
        }
        // A manifest that names a file outside its entry is damage, and only the entry goes.
        let entry = try cache.store("k", write: write(4))
        try Data(#"{"files": {"../../../precious/out.bin": 4}}"#.utf8)
            .write(to: entry.folder.appendingPathComponent(StageCache.manifestName))
        XCTAssertEqual(cache.lookup("k"), .discarded(reason: "its manifest.json names '../../../precious/out.bin', "
                                                        + "which is not a file inside the entry"))
        XCTAssertEqual(try Data(contentsOf: outside.appendingPathComponent("out.bin")), Data("keep".utf8))
    }

    func testRemoveTakesAnEntryEvenWhenPinned() throws {
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self))
        cache.pin(["k"])
        try cache.store("k", write: write(8))
        try cache.remove("k")
        XCTAssertEqual(cache.lookup("k"), .miss)
        XCTAssertEqual(cache.damage("k")?.hasSuffix("is gone"), true)
        XCTAssertNoThrow(try cache.remove("k"), "removing what is not there is not an error")
    }

    func testTrimRemovesDamagedEntriesNoRenderPins() throws {
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self), sizeLimit: 1000)
        var folders: [String: URL] = [:]
        for key in ["pinned", "loose", "sound"] {
            folders[key] = try cache.store(key, write: write(16)).folder
        }
        for key in ["pinned", "loose"] {
            try Data().write(to: try XCTUnwrap(folders[key]).appendingPathComponent("out.bin"))
        }
        cache.pin(["pinned"])
        cache.trim()
        XCTAssertEqual(cache.entries().map(\.key), ["sound"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: try XCTUnwrap(folders["loose"]).path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: try XCTUnwrap(folders["pinned"]).path),
                      "a pinned entry is left to the render that pins it")
    }

    func testEvictsLeastRecentlyUsedFirst() throws {
        let clock = FakeClock()
        let cache = try StageCache(root: try TestSupport.temporaryFolder(self), sizeLimit: 300,
                                   clock: { clock.now })
        for key in ["a", "b", "c"] {
            try cache.store(key, write: write(100))
            clock.advance()
        }
        XCTAssertNotNil(cache.lookup("a").entry)  // a is now the most recently used
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
        XCTAssertNotNil(cache.lookup("big").entry)
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
        XCTAssertNotNil(cache.lookup("a").entry)
        cache.unpin(["a"])
        cache.trim()
        XCTAssertEqual(cache.lookup("a"), .miss)
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
        XCTAssertNotNil(cache.lookup("k").entry)
    }
}
