/// One adapted module of a LoRA file: its down and up matrices (and alpha), checked to form a low-rank pair.
/// The update it makes is `ΔW = scale · up · down`, `scale = alpha / rank` (without an alpha, as the file's PEFT
/// configuration says, else 1), reshaped to the weight's shape: `[out, in]` for a linear layer, `[out, in, kh, kw]`
/// for a convolution (kohya's LoCon stores the down matrix as a `[rank, in, kh, kw]` kernel and the up matrix as
/// `[out, rank, 1, 1]`).
public struct LoRATarget: Sendable, Equatable {
    public let component: LoRAComponent
    /// The module as the file names it (see `LoRAKey.module`).
    public let module: String
    public let flattened: Bool
    public let layout: LoRALayout
    public let downKey: String
    public let upKey: String
    public let alphaKey: String?
    public let rank: Int
    public let alpha: Float?
    /// The shape of `up · down` as the targeted weight holds it: `[out, in]` or `[out, in, kh, kw]`.
    public let deltaShape: [Int]

    /// Checks the shapes of a pair (and its alpha) read from `file`. `configuredScale` is the scale the file's PEFT
    /// configuration gives a pair without an alpha (see `LoRAAdapterMetadata`).
    public init(down: (key: String, shape: [Int]), up: (key: String, shape: [Int]), alpha: (key: String, value: Float)?,
                parsed: LoRAKey, file: String, configuredScale: Float? = nil) throws {
        guard down.shape.count == 2 || down.shape.count == 4, down.shape.allSatisfy({ $0 > 0 }) else {
            throw LoRAError.badShape(file: file, key: down.key,
                                     reason: "a down matrix is [rank, in] or [rank, in, kh, kw], found \(down.shape)")
        }
        guard up.shape.count == 2 || (up.shape.count == 4 && up.shape[2] == 1 && up.shape[3] == 1) else {
            throw LoRAError.badShape(file: file, key: up.key,
                                     reason: "an up matrix is [out, rank] or [out, rank, 1, 1], found \(up.shape)")
        }
        guard up.shape[1] == down.shape[0] else {
            throw LoRAError.badShape(file: file, key: up.key,
                                     reason: "rank \(up.shape[1]) differs from the down matrix's \(down.shape[0]) "
                                        + "(\(down.key))")
        }
        component = parsed.component
        module = parsed.module
        flattened = parsed.flattened
        layout = parsed.layout
        downKey = down.key
        upKey = up.key
        alphaKey = alpha?.key
        rank = down.shape[0]
        self.alpha = alpha?.value
        deltaShape = [up.shape[0]] + down.shape.dropFirst()
        scale = alpha.map { $0.value / Float(down.shape[0]) } ?? configuredScale ?? 1
    }

    /// `alpha / rank`; for a pair without an alpha, the scale its file's PEFT configuration gives, or else 1 (a
    /// diffusers or PEFT file saved without its configuration was trained with alpha equal to the rank).
    public let scale: Float

    /// Whether the update is a convolution kernel (`[out, in, kh, kw]`).
    public var isConvolution: Bool { deltaShape.count == 4 }
}
