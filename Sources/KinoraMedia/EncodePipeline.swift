import Foundation

/// Runs the encoding half of a video writer on a thread of its own: the caller converts frame n+1 from RGB while
/// this thread hands frame n to the encoder and muxes its packets. libx264 buffers its whole lookahead (about 40
/// frames at preset medium) before its frame threads start, so without this overlap the conversion and the
/// encoder's input copy run one after the other on the caller's thread.
///
/// A fixed set of pictures circulates between the two sides, so memory stays flat however long the video is. An
/// error on the encoding side is kept and thrown to the caller by its next ``take()`` or ``finish()``.
final class EncodePipeline: @unchecked Sendable {
    private let condition = NSCondition()
    /// Pictures the caller may fill.
    private var free: [Frame]
    /// Filled pictures waiting for the encoder, oldest first.
    private var pending: [Frame] = []
    private var closing = false
    private var cancelled = false
    private var running = true
    private var failure: Error?
    private let encode: (Frame) throws -> Void

    /// Starts the encoding thread. `pictures` are the buffers that circulate (two or more let conversion and
    /// encoding overlap); `encode` is called on the encoding thread for each submitted picture, in order.
    init(pictures: [Frame], encode: @escaping (Frame) throws -> Void) {
        precondition(!pictures.isEmpty, "an encode pipeline needs at least one picture")
        free = pictures
        self.encode = encode
        let thread = Thread { [self] in run() }
        thread.name = "kinora-encode"
        thread.start()
    }

    /// A picture to fill, waiting while all are queued or being encoded; throws the encoding side's error. Not to
    /// be called after ``finish()`` or ``cancel()``.
    func take() throws -> Frame {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && failure == nil {
            condition.wait()
        }
        if let failure { throw failure }
        return free.removeLast()
    }

    /// Queues a picture obtained from ``take()`` for encoding.
    func submit(_ picture: Frame) {
        condition.lock()
        pending.append(picture)
        condition.signal()
        condition.unlock()
    }

    /// Waits until every submitted picture is encoded and the thread has ended; throws the encoding side's error.
    /// Afterwards the caller may use the encoder and muxer itself.
    func finish() throws {
        condition.lock()
        defer { condition.unlock() }
        closing = true
        condition.broadcast()
        while running {
            condition.wait()
        }
        if let failure { throw failure }
    }

    /// Drops the pictures not yet encoded and waits for the thread to end.
    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        closing = true
        condition.broadcast()
        while running {
            condition.wait()
        }
    }

    private func run() {
        condition.lock()
        while true {
            while pending.isEmpty && !closing {
                condition.wait()
            }
            if cancelled || pending.isEmpty { break }
            let picture = pending.removeFirst()
            condition.unlock()
            let outcome = Result { try encode(picture) }
            condition.lock()
            free.append(picture)
            condition.broadcast()
            if case let .failure(error) = outcome {
                failure = error
                break
            }
        }
        free += pending
        pending.removeAll()
        running = false
        condition.broadcast()
        condition.unlock()
    }
}
