import Foundation
import KinoraFormats
import KinoraTestSupport
import XCTest

final class ShardedSafetensorsTests: XCTestCase {
    private func writeShards(in folder: URL, index: [String: String]) throws -> URL {
        var first = SafetensorsWriter()
        try first.add("a", shape: [2], floats: [1, 2])
        try first.write(to: folder.appending(path: "model-00001-of-00002.safetensors"))
        var second = SafetensorsWriter()
        try second.add("b", shape: [1], floats: [3], as: .f16)
        try second.write(to: folder.appending(path: "model-00002-of-00002.safetensors"))
        let json = try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 10], "weight_map": index])
        let url = folder.appending(path: "model.safetensors.index.json")
        try json.write(to: url)
        return url
    }

    func testIndexedShardsReadAsOneStore() throws {
        let folder = try makeTemporaryFolder(self)
        let index = try writeShards(
            in: folder,
            index: ["a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"])
        let store = try ShardedSafetensors(indexURL: index)
        XCTAssertEqual(store.tensorNames, ["a", "b"])
        XCTAssertEqual(store.metadata["total_size"], "10")
        XCTAssertEqual(try store.floats("a"), [1, 2])
        XCTAssertEqual(try store.floats("b"), [3])
        XCTAssertEqual(store.shapes, ["a": [2], "b": [1]])
        let opened = try WeightFolder.open(folder)
        XCTAssertTrue(opened is ShardedSafetensors)
    }

    func testMissingShardIsNamed() throws {
        let folder = try makeTemporaryFolder(self)
        let index = try writeShards(
            in: folder, index: ["a": "model-00001-of-00002.safetensors", "c": "gone.safetensors"])
        XCTAssertThrowsError(try ShardedSafetensors(indexURL: index)) {
            XCTAssertEqual($0 as? WeightsError, .missingShard(index: index.path, shard: "gone.safetensors"))
        }
    }

    func testTensorListedInTheWrongShardIsNamed() throws {
        let folder = try makeTemporaryFolder(self)
        let index = try writeShards(in: folder, index: ["a": "model-00002-of-00002.safetensors"])
        XCTAssertThrowsError(try ShardedSafetensors(indexURL: index)) {
            XCTAssertEqual(
                $0 as? WeightsError,
                .tensorNotInShard(index: index.path, shard: "model-00002-of-00002.safetensors", tensor: "a"))
        }
    }

    func testDamagedIndexJSONSaysWhereAndAFIFOIsRefused() throws {
        let folder = try makeTemporaryFolder(self)
        let index = folder.appending(path: "model.safetensors.index.json")
        try Data(#"{"weight_map": {"a": "x.safetensors",}}"#.utf8).write(to: index)
        XCTAssertThrowsError(try ShardedSafetensors(indexURL: index)) {
            XCTAssertEqual(
                $0 as? WeightsError,
                .malformedIndex(file: index.path, reason: "invalid JSON: expected a string key in an object at byte 37")
            )
        }
        let fifo = folder.appending(path: "fifo.index.json")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertThrowsError(try ShardedSafetensors(indexURL: fifo)) {
            XCTAssertEqual($0 as? WeightsError, .unreadable(file: fifo.path, reason: "not a regular file"))
        }
    }

    func testWeightFolderPrefersTheVariantFile() throws {
        let folder = try makeTemporaryFolder(self)
        var plain = SafetensorsWriter()
        try plain.add("w", shape: [1], floats: [1])
        try plain.write(to: folder.appending(path: "diffusion_pytorch_model.safetensors"))
        var half = SafetensorsWriter()
        try half.add("w", shape: [1], floats: [2], as: .f16)
        try half.write(to: folder.appending(path: "diffusion_pytorch_model.fp16.safetensors"))
        XCTAssertEqual(try WeightFolder.open(folder, variant: "fp16").floats("w"), [2])
        XCTAssertEqual(try WeightFolder.open(folder).floats("w"), [1])
        XCTAssertThrowsError(try WeightFolder.open(folder.appending(path: "nothing")))
    }
}
