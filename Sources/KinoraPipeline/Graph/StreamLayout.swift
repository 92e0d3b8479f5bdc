/// How a stream shot's video divides into chunks, as `kinora video --autoregressive` divides it: the shot's duration
/// at the model's frame rate, rounded up to whole chunks of `chunkFrames` latent frames after the start picture's
/// one (when there is one); and when each chunk starts, which decides the prompt in effect for it.
struct StreamLayout: Sendable, Equatable {
    var fps: Double
    /// Video frames per latent frame after the first.
    var temporal: Int
    var chunkFrames: Int
    /// The stream starts from a picture: its latent is the first latent frame.
    var startPicture: Bool
    /// Chunks the stream makes (after the start picture).
    var chunks: Int

    init(duration: Double, fps: Double, temporal: Int, chunkFrames: Int, startPicture: Bool) {
        self.fps = fps
        self.temporal = temporal
        self.chunkFrames = chunkFrames
        self.startPicture = startPicture
        let asked = max(1, Int((duration * fps).rounded()))
        let needed = (asked - 1 + temporal - 1) / temporal + 1 - (startPicture ? 1 : 0)
        chunks = max(1, (needed + chunkFrames - 1) / chunkFrames)
    }

    /// Latent frames of the whole stream, the start picture's included.
    var latentFrames: Int { (startPicture ? 1 : 0) + chunks * chunkFrames }

    /// Video frames of the whole stream.
    var videoFrames: Int { 1 + temporal * (latentFrames - 1) }

    /// The first video frame chunk `index` decodes to.
    func firstFrame(ofChunk index: Int) -> Int {
        let made = (startPicture ? 1 : 0) + index * chunkFrames
        return made == 0 ? 0 : 1 + temporal * (made - 1)
    }

    /// Video frames chunk `index` decodes to.
    func frames(ofChunk index: Int) -> Int {
        firstFrame(ofChunk: index + 1) - firstFrame(ofChunk: index)
    }

    /// When chunk `index` starts, in seconds into the shot.
    func seconds(ofChunk index: Int) -> Double { Double(firstFrame(ofChunk: index)) / fps }

    /// For each chunk, the index in `schedule` of the prompt switch in effect (nil: the shot's prompt): the latest
    /// whose time has come when the chunk starts, as `kinora video --prompt-at` switches.
    func prompts(_ schedule: [PromptSwitch]) -> [Int?] {
        var current: Int?
        var next = 0
        return (0..<chunks).map { index in
            while next < schedule.count, schedule[next].at <= seconds(ofChunk: index) + 1e-9 {
                current = next
                next += 1
            }
            return current
        }
    }
}
