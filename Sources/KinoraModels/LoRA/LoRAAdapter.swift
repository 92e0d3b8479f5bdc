import Foundation

/// A LoRA file to merge into a model's weights at load, and how strongly (1 as trained, 0 off, negative inverts).
public struct LoRAAdapter: Sendable, Equatable, Hashable {
    public var url: URL
    public var strength: Float

    /// The strengths accepted, by `kinora image --lora` and by workflows alike: beyond ±10 an adapter swamps the
    /// weights it adapts, which is a typo more often than an intent.
    public static let strengths: ClosedRange<Double> = -10...10

    public init(url: URL, strength: Float = 1) {
        self.url = url
        self.strength = strength
    }

    /// Splits the short form `PATH[:strength]`: the text after the last colon is the strength only when it is a
    /// number, so paths with colons still work. The file is empty when the text starts with the strength.
    public static func splitShortForm(_ text: String) -> (file: String, strength: Double?) {
        guard let colon = text.lastIndex(of: ":"), let strength = Double(text[text.index(after: colon)...]) else {
            return (text, nil)
        }
        return (String(text[..<colon]), strength)
    }
}
