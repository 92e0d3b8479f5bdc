import Foundation

/// Where compiled pipelines persist between runs: the data of the device's `VkPipelineCache` in one file per device
/// and driver (`<vendor>-<device>-<driver version>-<cache UUID>.vkpc` in the folder), so a second run skips the
/// driver's shader compilation.
///
/// The file wraps the driver's data in an envelope Kinora checks before the driver sees it — a magic, the data's
/// length and an FNV-1a 64 checksum — and the data's own Vulkan header must name this device's vendor, device and
/// cache UUID: a truncated, corrupted or foreign file is ignored (the cache starts empty and the file is rewritten),
/// never handed to a driver that might not survive it. Writes go to a temporary file renamed into place, so
/// concurrent runs and interrupted writes leave a whole file or none. The checksum detects damage, not forgery.
public struct PipelineCacheFile: Sendable {
    public let url: URL
    let vendorID: UInt32
    let deviceID: UInt32
    let cacheUUID: [UInt8]

    static let magic = Array("KNRPCV1\n".utf8)
    /// Larger files are not read: no driver's cache of Kinora's few hundred pipelines comes near it.
    static let maximumBytes = 256 << 20

    /// The file for `physical` in `folder`.
    public init(folder: URL, physical: PhysicalDevice) {
        let uuid = physical.pipelineCacheUUID.map { String(format: "%02x", $0) }.joined()
        url = folder.appending(
            path: String(
                format: "%04x-%04x-%08x-%@.vkpc", physical.vendorID, physical.deviceID, physical.driverVersion, uuid))
        vendorID = physical.vendorID
        deviceID = physical.deviceID
        cacheUUID = physical.pipelineCacheUUID
    }

    /// The folder runs keep their pipelines in, from `environment`: `KINORA_PIPELINE_CACHE` (a folder, or `off` for
    /// none), else `$XDG_CACHE_HOME/kinora/pipelines`, else `~/.cache/kinora/pipelines`.
    public static func defaultFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let setting = environment["KINORA_PIPELINE_CACHE"], !setting.isEmpty {
            return setting == "off" ? nil : URL(fileURLWithPath: setting)
        }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appending(path: "kinora/pipelines")
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return URL(fileURLWithPath: home).appending(path: ".cache/kinora/pipelines")
    }

    /// The driver's data in the file, or nil with the reason it was not used (nil reason: no file yet).
    public func load() -> (data: [UInt8]?, ignored: String?) {
        guard FileManager.default.fileExists(atPath: url.path) else { return (nil, nil) }
        let bytes: [UInt8]
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            guard attributes[.type] as? FileAttributeType == .typeRegular else {
                return (nil, "\(url.path) is not a regular file")
            }
            guard (attributes[.size] as? Int ?? 0) <= Self.maximumBytes else {
                return (nil, "\(url.path) is larger than \(Self.maximumBytes) bytes")
            }
            bytes = Array(try Data(contentsOf: url))
        } catch {
            return (nil, "\(url.path) could not be read: \(error.localizedDescription)")
        }
        let header = Self.magic.count + 16
        guard bytes.count >= header, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            return (nil, "\(url.path) is not a Kinora pipeline cache")
        }
        let length = Self.word64(bytes, Self.magic.count)
        let checksum = Self.word64(bytes, Self.magic.count + 8)
        guard length == UInt64(bytes.count - header) else {
            return (nil, "\(url.path) holds \(bytes.count - header) bytes of data where its header says \(length)")
        }
        let data = Array(bytes[header...])
        guard Self.fnv1a(data) == checksum else { return (nil, "\(url.path) fails its checksum") }
        // VkPipelineCacheHeaderVersionOne: header size, version 1, vendor, device, cache UUID.
        guard data.count >= 32, Self.word32(data, 0) >= 32, Self.word32(data, 4) == 1,
            Self.word32(data, 8) == vendorID, Self.word32(data, 12) == deviceID, Array(data[16..<32]) == cacheUUID
        else {
            return (nil, "\(url.path) was written by another device or driver")
        }
        return (data, nil)
    }

    /// Writes `data` (a `vkGetPipelineCacheData` result) in its envelope, atomically.
    public func save(_ data: [UInt8]) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var bytes = Self.magic
        bytes += Self.bytes64(UInt64(data.count)) + Self.bytes64(Self.fnv1a(data)) + data
        let temporary = url.deletingLastPathComponent().appending(
            path: ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try Data(bytes).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw GPUError.invalidArgument(
                    "could not move the pipeline cache into \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static func word32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    private static func word64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    private static func bytes64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
