/// One RGB picture, as the pipeline produces it: either 8-bit values or floats in [0, 1], row by row with the
/// three channels of a pixel next to each other. Floats outside [0, 1] are clamped when encoded.
public struct VideoFrame: Sendable, Equatable {
    /// The pixel values.
    public enum Pixels: Sendable, Equatable {
        /// 8 bits per channel, 0...255.
        case rgb8([UInt8])
        /// 32-bit float per channel, 0...1.
        case rgbFloat([Float])
    }

    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width × height × 3` values.
    public let pixels: Pixels

    /// A frame from 8-bit RGB values.
    public init(width: Int, height: Int, rgb8: [UInt8]) throws {
        try Self.validate(width: width, height: height, count: rgb8.count)
        self.width = width
        self.height = height
        pixels = .rgb8(rgb8)
    }

    /// A frame from float RGB values in [0, 1].
    public init(width: Int, height: Int, rgbFloat: [Float]) throws {
        try Self.validate(width: width, height: height, count: rgbFloat.count)
        self.width = width
        self.height = height
        pixels = .rgbFloat(rgbFloat)
    }

    /// The frame as 8-bit RGB, rounding float values to the nearest step.
    public var rgb8: [UInt8] {
        switch pixels {
        case let .rgb8(values):
            return values
        case let .rgbFloat(values):
            return values.map { value in
                let clamped = value.isNaN ? 0 : min(max(value, 0), 1)
                return UInt8((clamped * 255).rounded())
            }
        }
    }

    private static func validate(width: Int, height: Int, count: Int) throws {
        guard width > 0, height > 0 else {
            throw MediaError.invalidArgument("frame size must be positive, got \(width)x\(height)")
        }
        try ValueBounds.check(width, "the frame width", in: ValueBounds.frameSide, unit: "pixels")
        try ValueBounds.check(height, "the frame height", in: ValueBounds.frameSide, unit: "pixels")
        guard count == width * height * 3 else { throw MediaError.invalidFrameData(expected: width * height * 3, got: count) }
    }
}
