/// A frame-rate change run as a stream: source frames are read one at a time, each output frame is written as soon
/// as it is known (a copy of a source frame, or frames `between` two source frames made together in one call), and
/// source frames no later output needs are let go, so at most two source frames and the frames between them are
/// held however long the video is. A scene cut (`SceneCut.isCut`, or a frame listed in `cuts`) is not morphed: the
/// earlier frame is repeated.
/// `Frame` is whatever the caller reads and writes (KinoraModels has no media types).
public struct FrameRateStream<Frame> {
    /// What the stream wrote.
    public struct Summary: Sendable, Equatable {
        public var written = 0
        public var interpolated = 0
        public var cuts = 0
    }

    public let conversion: FrameRateConversion
    /// Similarity below which two frames are a scene cut; 0 morphs every pair.
    public let sceneThreshold: Double
    /// Source frames known to begin a new scene (an edit's cuts): never morphed into from the frame before, however
    /// similar the two are.
    public let cuts: Set<Int>

    public init(conversion: FrameRateConversion, sceneThreshold: Double = SceneCut.defaultThreshold,
                cuts: Set<Int> = []) {
        self.conversion = conversion
        self.sceneThreshold = sceneThreshold
        self.cuts = cuts
    }

    /// Runs the conversion: `read` gives the next source frame (nil at the end), `planes` a frame as planar RGB
    /// [3, height, width] in [0, 1] with its size, `between` the frames at the given timesteps between two planar
    /// frames (RIFE), and `write` takes each output frame in order.
    public func run(
        read: () throws -> Frame?, planes: (Frame) -> (values: [Float], height: Int, width: Int),
        between: (_ a: [Float], _ b: [Float], _ height: Int, _ width: Int, _ timesteps: [Float]) throws -> [Frame],
        write: (Frame) throws -> Void
    ) throws -> Summary {
        var frames: [Int: Frame] = [:]
        var planar: [Int: (values: [Float], height: Int, width: Int)] = [:]
        var nextToRead = 0
        var finished = false
        /// Source frame `index`, reading ahead as needed; nil past the end.
        func frame(_ index: Int) throws -> Frame? {
            while frames[index] == nil && !finished {
                if let next = try read() {
                    frames[nextToRead] = next
                    nextToRead += 1
                } else {
                    finished = true
                }
            }
            return frames[index]
        }
        func plane(_ index: Int, _ frame: Frame) -> (values: [Float], height: Int, width: Int) {
            if let known = planar[index] { return known }
            let made = planes(frame)
            planar[index] = made
            return made
        }
        var summary = Summary()
        var k = 0
        while true {
            let first = conversion.frame(k)
            guard let start = try frame(first.source) else { break }
            // Every output frame between this source frame and the next, made together.
            var pending: [FrameRateConversion.OutputFrame] = []
            while conversion.frame(k + pending.count).source == first.source {
                pending.append(conversion.frame(k + pending.count))
            }
            let timesteps = pending.filter { $0.timestep > 0 }.map { Float($0.timestep) }
            var results: [Frame] = []
            if !timesteps.isEmpty, let end = try frame(first.source + 1) {
                let a = plane(first.source, start), b = plane(first.source + 1, end)
                if cuts.contains(first.source + 1) || sceneThreshold > 0
                    && SceneCut.isCut(a.values, b.values, height: a.height, width: a.width, threshold: sceneThreshold) {
                    results = timesteps.map { _ in start }
                    summary.cuts += 1
                } else {
                    results = try between(a.values, b.values, a.height, a.width, timesteps)
                    summary.interpolated += results.count
                }
            } else if !timesteps.isEmpty {
                // Past the last source frame: the video ends at that frame's time.
                pending = pending.filter { $0.timestep == 0 }
            }
            var index = 0
            for output in pending {
                if output.timestep == 0 {
                    try write(start)
                } else {
                    try write(results[index])
                    index += 1
                }
                summary.written += 1
            }
            k += max(pending.count, 1)
            // Source frames no later output needs (a lower output rate skips some) are let go.
            let nextSource = conversion.frame(k).source
            frames = frames.filter { $0.key >= nextSource }
            planar = planar.filter { $0.key >= nextSource }
            if try frame(nextSource) == nil { break }
        }
        return summary
    }
}
