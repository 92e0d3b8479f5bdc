/// Which frames a frame-rate change produces: output frame k sits at time k / outputRate, which is source position
/// p = k · inputRate / outputRate; an integer p copies that source frame, any other interpolates between frames
/// ⌊p⌋ and ⌊p⌋ + 1 at t = p − ⌊p⌋. Exact rational arithmetic, so 16 → 24, 30, 48 or 60 fps (and 24000/1001) never
/// drift. The output ends at the last source frame's time.
public struct FrameRateConversion: Sendable, Equatable {
    /// One output frame: the source frame it starts from and how far towards the next (0: a copy).
    public struct OutputFrame: Sendable, Equatable {
        public var source: Int
        public var timestep: Double
    }

    /// Rates as fractions (frames per second = numerator / denominator).
    public let input: (numerator: Int, denominator: Int)
    public let output: (numerator: Int, denominator: Int)

    public init(input: (numerator: Int, denominator: Int), output: (numerator: Int, denominator: Int)) throws {
        guard input.numerator > 0, input.denominator > 0, output.numerator > 0, output.denominator > 0,
            input.numerator <= 1 << 30, input.denominator <= 1 << 30, output.numerator <= 1 << 30,
            output.denominator <= 1 << 30
        else {
            throw RIFEError.invalidFrames(reason: "frame rates \(input) and \(output) must be positive fractions")
        }
        self.input = input
        self.output = output
    }

    public static func == (a: FrameRateConversion, b: FrameRateConversion) -> Bool {
        a.input == b.input && a.output == b.output
    }

    /// Output frame `k`: p = k · (in.num · out.den) / (in.den · out.num), its integer part and fraction.
    public func frame(_ k: Int) -> OutputFrame {
        let step = input.numerator * output.denominator
        let scale = input.denominator * output.numerator
        let (position, overflow) = k.multipliedReportingOverflow(by: step)
        precondition(!overflow, "output frame \(k) is beyond any video's length")
        return OutputFrame(source: position / scale, timestep: Double(position % scale) / Double(scale))
    }

    /// Output frames for `inputCount` source frames: those whose source position is at most the last frame's.
    public func frames(inputCount: Int) -> [OutputFrame] {
        var frames: [OutputFrame] = []
        var k = 0
        while true {
            let next = frame(k)
            if next.source >= inputCount || (next.source == inputCount - 1 && next.timestep > 0) { break }
            frames.append(next)
            k += 1
        }
        return frames
    }
}
