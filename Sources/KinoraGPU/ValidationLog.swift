import Foundation

/// Collects the messages the Khronos validation layer (or the driver) reports through debug utils.
///
/// Tests fail when it is not empty; `kinora` prints its messages to standard error.
public final class ValidationLog: @unchecked Sendable {
    /// One message: its severity and text.
    public struct Message: Sendable, CustomStringConvertible {
        public var isError: Bool
        public var text: String
        public var description: String { (isError ? "error: " : "warning: ") + text }
    }

    private let lock = NSLock()
    private var stored: [Message] = []

    public init() {}

    /// The messages received so far.
    public var messages: [Message] { lock.withLock { stored } }

    /// Removes and returns the messages received so far.
    public func drain() -> [Message] {
        lock.withLock {
            defer { stored.removeAll() }
            return stored
        }
    }

    func record(severity: Int32, text: String) {
        // VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT = 0x1000
        let message = Message(isError: severity >= 0x1000, text: text)
        lock.withLock { stored.append(message) }
    }
}
