/// MusicGen's delay pattern (audiocraft's `DelayedPatternProvider`, transformers' `build_delay_pattern_mask`): the
/// codebooks run side by side, codebook k shifted right by its delay (k; for stereo models, whose codebooks alternate
/// left and right, k / 2), so that a step predicts frame t of codebook 0 together with frame t − k of codebook k. The
/// positions before a codebook's first frame and after its last hold the pad code, as do the first position of all
/// (the BOS); positions covered by an audio prompt hold the prompt's codes.
///
/// With `positions` M (BOS included) and D codebooks per channel the sequence carries M − D frames; frame f of
/// codebook k sits at position f + delay(k) + 1.
public struct MusicGenDelayPattern: Sendable, Equatable {
    public let codebooks: Int
    public let audioChannels: Int
    /// Positions of the delayed sequence, BOS included.
    public let positions: Int
    /// The pad/BOS code.
    public let pad: Int
    /// Per codebook, the prompt's codes (frames fixed at the start), all of one length.
    public let prompt: [[Int]]

    /// A pattern for `frames` frames (the prompt's included). Throws when there are fewer frames than the delays need
    /// (D − 1, transformers leaves shorter sequences unpatterned) or the prompt does not fit.
    public init(codebooks: Int, audioChannels: Int, frames: Int, pad: Int, prompt: [[Int]] = []) throws {
        let perChannel = codebooks / audioChannels
        guard frames >= max(1, perChannel - 1) else {
            throw MusicGenError.invalidSetting("\(frames) code frames are too few for the delay pattern of "
                + "\(perChannel) codebooks (at least \(max(1, perChannel - 1)))")
        }
        let promptFrames = prompt.first?.count ?? 0
        guard prompt.isEmpty || prompt.count == codebooks && prompt.allSatisfy({ $0.count == promptFrames }) else {
            throw MusicGenError.invalidSetting("an audio prompt must have \(codebooks) codebooks of equal length")
        }
        guard promptFrames < frames else {
            throw MusicGenError.invalidSetting("an audio prompt of \(promptFrames) frames leaves nothing to generate "
                + "in \(frames)")
        }
        self.codebooks = codebooks
        self.audioChannels = audioChannels
        self.positions = frames + perChannel
        self.pad = pad
        self.prompt = prompt
    }

    /// Codebooks per channel: the delays run 0..<this.
    public var codebooksPerChannel: Int { codebooks / audioChannels }

    /// Frames the sequence carries.
    public var frames: Int { positions - codebooksPerChannel }

    /// The delay of `codebook`.
    public func delay(_ codebook: Int) -> Int { audioChannels == 2 ? codebook / 2 : codebook }

    /// The code fixed at `position` of `codebook` (pad or the prompt's), or nil where it is generated.
    public func fixed(codebook: Int, position: Int) -> Int? {
        let frame = position - delay(codebook) - 1
        if frame < 0 || frame >= frames { return pad }
        let promptFrames = prompt.first?.count ?? 0
        return frame < promptFrames ? prompt[codebook][frame] : nil
    }

    /// The first position the model predicts (codebook 0's first generated frame): the positions before it are fed
    /// at once, to fill the cache.
    public var firstGenerated: Int { (prompt.first?.count ?? 0) + 1 }

    /// The frames of a full delayed `sequence` [codebook][position]: [codebook][frame].
    public func frames(of sequence: [[Int]]) -> [[Int]] {
        (0..<codebooks).map { codebook in
            (0..<frames).map { sequence[codebook][$0 + delay(codebook) + 1] }
        }
    }
}
