/// One adapted module of a LoRA file: its down and up matrices (and alpha), checked to form a low-rank pair.
/// The update it makes is `ΔW = scale · up · down`, `scale = alpha / rank` (1 without an alpha), reshaped to the
/// weight's shape: `[out, in]` for a linear layer, `[out, in, kh, kw]` for a convolution (kohya's LoCon stores the
/// down matrix as a `[rank, in, kh, kw]` kernel and the up matrix as `[out, rank, 1, 1]`).
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

    /// Checks the shapes of a pair (and its alpha) read from `file`.
    public init(down: (key: String, shape: [Int]), up: (key: String, shape: [Int]), alpha: (key: String, value: Float)?,
                parsed: LoRAKey, file: String) throws {
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
    }

    /// `alpha / rank`, or 1 for a file without alphas (diffusers and PEFT files, whose alpha equals the rank).
    public var scale: Float { alpha.map { $0 / Float(rank) } ?? 1 }

    /// Whether the update is a convolution kernel (`[out, in, kh, kw]`).
    public var isConvolution: Bool { deltaShape.count == 4 }
}
