import Foundation

/// Where a harness writes its input so the readers, which map files, see it as a file: one path per process under
/// `/dev/shm` (memory, not disk) when it exists.
public enum FuzzInput {
    public static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let folder = URL(filePath: base).appending(path: "kinora-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }()

    /// Writes `count` bytes at `data` to `name` in the folder and returns its URL.
    public static func file(_ name: String, _ data: UnsafePointer<UInt8>, _ count: Int) -> URL {
        let url = folder.appending(path: name)
        try! Data(bytes: data, count: count).write(to: url)
        return url
    }

    /// Splits an input in two at the position its first two bytes give (modulo its length), for readers of two files.
    public static func split(_ data: UnsafePointer<UInt8>, _ count: Int) -> (first: Data, second: Data) {
        guard count >= 2 else { return (Data(), Data()) }
        let cut = 2 + Int(UInt16(data[0]) | UInt16(data[1]) << 8) % (count - 1)
        let bytes = Data(bytes: data, count: count)
        return (bytes[2..<min(cut, count)], bytes[min(cut, count)...])
    }
}
