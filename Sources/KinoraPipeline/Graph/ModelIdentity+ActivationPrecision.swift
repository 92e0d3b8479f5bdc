import KinoraModels

extension ModelIdentity {
    /// The activation precision the component runs in: its reference's `precision:` (nil for `auto`, the weights'
    /// type), read back from `precision` as `ModelReference.Precision` spells it.
    public var activationPrecision: ActivationPrecision? {
        ModelReference.Precision(rawValue: precision)?.activationPrecision
    }
}
