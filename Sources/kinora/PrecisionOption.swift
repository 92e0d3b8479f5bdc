import ArgumentParser
import KinoraModels

/// `--precision fp32|fp16|bf16`: the activation type a model runs in (by default its weights' type).
extension ActivationPrecision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}
