import Foundation

/// What a streamed mix came to: its length, and the normalisation it applied.
public struct StreamedMix: Sendable {
    /// Frames of the master.
    public let frameCount: Int
    /// Gain the normaliser applied, in dB (0 without a loudness target).
    public let normalizationGainDB: Double
    /// Integrated loudness and true peak the master reached (nil without a loudness target).
    public let loudness: LoudnessMeasurement?
}

extension Mixer {
    /// The master of ``mix(_:)``, sample for sample, made block by block so that memory does not grow with the
    /// timeline: each block sums the tracks that overlap it (a looped track read modulo its audio's length, a track
    /// from a file read from it as the blocks reach it), with the ducker's state carried from block to block.
    /// Without a loudness target each block goes to `write` as it is made. With one, the un-normalised master is
    /// measured as it is made and kept in a temporary float WAV in `scratchDirectory` (removed afterwards), which the
    /// normalisation's passes read again block by block. Blocks reach `write` in order, interleaved, at most
    /// `blockFrames` frames each.
    public func mix(_ tracks: [MixTrack], blockFrames: Int = 16384, scratchDirectory: URL,
                    write: ([Float]) throws -> Void) throws -> StreamedMix
    {
        guard settings.channels == 1 || settings.channels == 2 else {
            throw MediaError.invalidArgument("a mix has 1 or 2 channels, not \(settings.channels)")
        }
        guard !tracks.isEmpty else { throw MediaError.invalidArgument("a mix needs at least one track") }
        guard blockFrames > 0 else { throw MediaError.invalidArgument("blocks must hold at least one frame") }
        try checkBounds(tracks)
        var master = try MasterBlocks(tracks: tracks, settings: settings)
        let length = master.length
        guard let target = settings.loudnessTarget else {
            for start in stride(from: 0, to: length, by: blockFrames) {
                try write(master.block(start..<min(length, start + blockFrames)))
            }
            return StreamedMix(frameCount: length, normalizationGainDB: 0, loudness: nil)
        }
        let rate = settings.sampleRate, channels = settings.channels
        let scratch = scratchDirectory.appendingPathComponent(".mix-master-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let meter = try LoudnessMeter(channels: channels, sampleRate: rate)
        let file = try SoundFile(writing: scratch.path, format: AudioFileFormat.wavFloat.sndfileFormat,
                                 sampleRate: rate, channels: channels)
        for start in stride(from: 0, to: length, by: blockFrames) {
            let block = try master.block(start..<min(length, start + blockFrames))
            try meter.add(block)
            try file.write(block)
        }
        try file.close()
        let original = LoudnessMeasurement(integrated: try meter.integrated(), truePeak: try meter.truePeak())
        let reader = try AudioFileReader(url: scratch)
        let normalized = try Loudness.normalize(
            frames: length, channels: channels, sampleRate: rate, original: original, blockFrames: blockFrames,
            read: reader.read, targetLUFS: target, truePeakCeiling: settings.truePeakCeiling, write: write)
        return StreamedMix(frameCount: length, normalizationGainDB: normalized.gainDB,
                           loudness: normalized.loudness)
    }
}

/// The un-normalised master of a mix, block by block in order: the same sums as the whole-buffer mix, from the
/// tracks' own audio and the ducker's carried state.
private struct MasterBlocks {
    let tracks: [PlacedTrack]
    let channels: Int
    /// Frames of the timeline.
    let length: Int
    /// The ducker, when music is ducked under voice.
    private var ducker: Ducker?
    private var next = 0

    init(tracks: [MixTrack], settings: MixSettings) throws {
        self.tracks = try tracks.map { try PlacedTrack($0, settings: settings) }
        channels = settings.channels
        length = Mixer(settings: settings).timelineLength(self.tracks)
        if let ducking = settings.ducking, tracks.contains(where: { $0.role == .voice }) {
            ducker = Ducker(settings: ducking, sampleRate: settings.sampleRate)
        }
    }

    /// The master's frames `range`, the block after the previous one.
    mutating func block(_ range: Range<Int>) throws -> [Float] {
        precondition(range.lowerBound == next, "mix blocks must follow each other")
        next = range.upperBound
        // Each track is rendered once per block (a track from a file is read in order), for the key and the master.
        let parts = try tracks.map { try part(of: $0, in: range) }
        var curve: [Float]?
        if ducker != nil {
            var key = [Float](repeating: 0, count: range.count * channels)
            for (track, part) in zip(tracks, parts) where track.role == .voice {
                add(part, to: &key, gains: nil)
            }
            curve = ducker!.gains(key: key, channels: channels)
        }
        var master = [Float](repeating: 0, count: range.count * channels)
        for (track, part) in zip(tracks, parts) {
            add(part, to: &master, gains: track.role == .music ? curve : nil)
        }
        return master
    }

    /// The part of `track` that falls in the timeline's `range`: its samples and their first frame's offset in the
    /// range; nil when the track does not sound there.
    private func part(of track: PlacedTrack, in range: Range<Int>) throws -> (offset: Int, samples: [Float])? {
        let first = max(range.lowerBound, track.start)
        let last = min(range.upperBound, track.start + min(track.frameCount, length - track.start))
        guard first < last else { return nil }
        var samples = [Float](repeating: 0, count: (last - first) * channels)
        try track.render(frames: (first - track.start)..<(last - track.start), into: &samples, at: 0)
        return (first - range.lowerBound, samples)
    }

    /// Adds `part` to `samples` (which hold the block), each frame multiplied by its gain in `gains` (one per frame
    /// of the block) when given.
    private func add(_ part: (offset: Int, samples: [Float])?, to samples: inout [Float], gains: [Float]?) {
        guard let (offset, values) = part else { return }
        for frame in 0..<(values.count / channels) {
            for channel in 0..<channels {
                var value = values[frame * channels + channel]
                if let gains { value *= gains[offset + frame] }
                samples[(offset + frame) * channels + channel] += value
            }
        }
    }
}
