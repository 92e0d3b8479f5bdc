import Foundation

/// A LoRA file to merge into a model's weights at load, and how strongly (1 as trained, 0 off, negative inverts).
public struct LoRAAdapter: Sendable, Equatable, Hashable {
    public var url: URL
    public var strength: Float

    public init(url: URL, strength: Float = 1) {
        self.url = url
        self.strength = strength
    }
}
