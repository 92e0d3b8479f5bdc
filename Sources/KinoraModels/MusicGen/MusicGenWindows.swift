/// How a MusicGen cue longer than the model's window is made (audiocraft's `_generate_tokens` with `extend_stride`):
/// the first window generates up to the window's frames; each next window is prompted with the last
/// (window − stride) frames of the one before and adds what follows, until the cue's frames are made. With the
/// released models' 30 s window and 18 s stride, a window continues the last 12 s.
public struct MusicGenWindows: Sendable, Equatable {
    /// One generate call: the frames it makes in all (its prompt's included) and how many of them are the prompt.
    public struct Window: Sendable, Equatable {
        public var frames: Int
        public var promptFrames: Int
        /// The frame of the cue where the window starts.
        public var start: Int

        /// The decoder's steps for the window: its delay pattern's positions (`frames` + the codebooks per channel)
        /// less the BOS and the prompt's frames, which go in at once.
        public func steps(codebooksPerChannel: Int) -> Int { frames + codebooksPerChannel - promptFrames - 1 }
    }

    public let windows: [Window]
    /// Frames of the whole cue.
    public let frames: Int

    /// The windows of a cue of `frames` frames, with windows of `windowFrames` and a stride of `strideFrames`.
    public init(frames: Int, windowFrames: Int, strideFrames: Int) throws {
        guard frames > 0, windowFrames > 0, (1..<windowFrames).contains(strideFrames) || frames <= windowFrames else {
            throw MusicGenError.invalidSetting("\(frames) frames in windows of \(windowFrames) with a stride of "
                + "\(strideFrames) frames cannot be made")
        }
        self.frames = frames
        guard frames > windowFrames else {
            windows = [Window(frames: frames, promptFrames: 0, start: 0)]
            return
        }
        var windows: [Window] = []
        var offset = 0
        var promptFrames = 0
        while offset + promptFrames < frames {
            let length = min(frames - offset, windowFrames)
            windows.append(Window(frames: length, promptFrames: promptFrames, start: offset))
            promptFrames = length - strideFrames
            offset += strideFrames
        }
        self.windows = windows
    }
}
