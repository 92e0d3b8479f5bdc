/// A picture's width and height in pixels.
public struct ImageSize: Sendable, Hashable, Codable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// Reads `WIDTHxHEIGHT`, such as `512x288`; nil for anything else.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let width = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let height = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
        self.init(width: width, height: height)
    }

    public var pixels: Int { width * height }

    /// Half the size, each side rounded down to a multiple of 8 and kept at least 64: the default draft size.
    public var halved: ImageSize {
        ImageSize(width: max(64, width / 16 * 8), height: max(64, height / 16 * 8))
    }

    /// Half the size, each side rounded down to a multiple of `multiple` and at least 64 (rounded up to the
    /// multiple): a video draft's size, which the model's patch and VAE stride constrain. 1280x704 by 32: 640x352.
    public func halved(multiple: Int) -> ImageSize {
        let step = max(1, multiple)
        let least = (64 + step - 1) / step * step
        return ImageSize(width: max(least, width / 2 / step * step), height: max(least, height / 2 / step * step))
    }

    /// `WIDTHxHEIGHT`.
    public var description: String { "\(width)x\(height)" }
}
