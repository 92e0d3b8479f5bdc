/// Turns a still into its shot's frames: each frame shows the crop the camera move gives at that moment, scaled to
/// the output size with bilinear resampling. It runs on the CPU, which at the sizes Kinora renders stills today
/// (up to a few hundred thousand pixels a frame) costs milliseconds a frame, less than a round trip to the device.
///
/// The crop at zoom 1 is the largest rectangle of the output's aspect ratio centred in the picture; zoom `z` shows
/// 1/z of it, and pan and tilt move its centre by a fraction of the picture's width and height (held inside the
/// picture).
public struct StillAnimator: Sendable {
    /// RGB in [0, 1], channel-planar [3, height, width].
    public let image: [Float]
    public let width: Int
    public let height: Int
    public let move: CameraMove
    public let outputWidth: Int
    public let outputHeight: Int

    /// Why the still cannot be animated.
    public struct SizeMismatch: Error, CustomStringConvertible {
        public var values: Int
        public var width: Int
        public var height: Int
        public var description: String {
            "a \(width)x\(height) RGB picture has \(3 * width * height) values, not \(values)"
        }
    }

    public init(image: [Float], width: Int, height: Int, move: CameraMove, outputWidth: Int, outputHeight: Int)
        throws {
        guard width > 0, height > 0, outputWidth > 0, outputHeight > 0, image.count == 3 * width * height else {
            throw SizeMismatch(values: image.count, width: width, height: height)
        }
        self.image = image
        self.width = width
        self.height = height
        self.move = move
        self.outputWidth = outputWidth
        self.outputHeight = outputHeight
    }

    /// The crop at `progress` (0...1 through the shot) in picture pixels: its top-left corner and size.
    public func crop(at progress: Double) -> (x: Double, y: Double, width: Double, height: Double) {
        let aspect = Double(outputWidth) / Double(outputHeight)
        let (w, h) = (Double(width), Double(height))
        let base = w / h > aspect ? (width: h * aspect, height: h) : (width: w, height: w / aspect)
        let state = move.state(at: progress)
        let cropWidth = base.width / state.zoom, cropHeight = base.height / state.zoom
        let centreX = min(max(w / 2 + state.pan * w, cropWidth / 2), w - cropWidth / 2)
        let centreY = min(max(h / 2 + state.tilt * h, cropHeight / 2), h - cropHeight / 2)
        return (centreX - cropWidth / 2, centreY - cropHeight / 2, cropWidth, cropHeight)
    }

    /// Frame `index` of a shot of `count` frames as 8-bit RGB, interleaved, `outputWidth` × `outputHeight`.
    public func frame(_ index: Int, of count: Int) -> [UInt8] {
        let crop = crop(at: count > 1 ? Double(index) / Double(count - 1) : 0)
        let stepX = crop.width / Double(outputWidth), stepY = crop.height / Double(outputHeight)
        let columns = (0..<outputWidth).map { Self.tap(crop.x + (Double($0) + 0.5) * stepX - 0.5, size: width) }
        let plane = width * height
        var pixels = [UInt8](repeating: 0, count: 3 * outputWidth * outputHeight)
        for row in 0..<outputHeight {
            let (y0, y1, fy) = Self.tap(crop.y + (Double(row) + 0.5) * stepY - 0.5, size: height)
            for column in 0..<outputWidth {
                let (x0, x1, fx) = columns[column]
                for channel in 0..<3 {
                    let base = channel * plane
                    let top = Double(image[base + y0 * width + x0]) * (1 - fx)
                        + Double(image[base + y0 * width + x1]) * fx
                    let bottom = Double(image[base + y1 * width + x0]) * (1 - fx)
                        + Double(image[base + y1 * width + x1]) * fx
                    let value = top * (1 - fy) + bottom * fy
                    pixels[3 * (row * outputWidth + column) + channel] = Self.byte(value)
                }
            }
        }
        return pixels
    }

    /// `value` (0...1 is black to white) as an 8-bit level; NaN, which no comparison clamps, is black.
    static func byte(_ value: Double) -> UInt8 {
        value.isNaN ? 0 : UInt8((min(max(value, 0), 1) * 255).rounded())
    }

    /// The two neighbouring samples of position `position` (edge-clamped) and the weight of the second.
    private static func tap(_ position: Double, size: Int) -> (Int, Int, Double) {
        let clamped = min(max(position, 0), Double(size - 1))
        let first = Int(clamped.rounded(.down))
        return (first, min(first + 1, size - 1), clamped - Double(first))
    }
}
