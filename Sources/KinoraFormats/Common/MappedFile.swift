import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped read-only into memory, unmapped when the last reference goes. Pages are read from disk on first
/// touch, so opening a multi-gigabyte checkpoint costs nothing until its tensors are used.
final class MappedFile: @unchecked Sendable {
    // The mapping is PROT_READ and never changes after init, so sharing it between threads is safe.
    let bytes: UnsafeRawBufferPointer
    let fileName: String

    init(url: URL) throws {
        fileName = url.path
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat can refuse it.
        let descriptor = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw WeightsError.unreadable(file: fileName, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw WeightsError.unreadable(file: fileName, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw WeightsError.unreadable(file: fileName, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw WeightsError.unreadable(file: fileName, reason: "mmap: " + String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
