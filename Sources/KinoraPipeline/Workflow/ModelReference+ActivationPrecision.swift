import KinoraModels

extension ModelReference.Precision {
    /// The activation precision a model with this `precision:` runs in: nil for `auto` (the model's weights' type,
    /// as diffusers' `torch_dtype`), else f32, f16 or bf16.
    public var activationPrecision: ActivationPrecision? {
        switch self {
        case .auto: return nil
        case .f32: return .fp32
        case .f16: return .fp16
        case .bf16: return .bf16
        }
    }
}
