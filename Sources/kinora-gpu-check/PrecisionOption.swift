import ArgumentParser
import KinoraModels

/// `--precision fp32|fp16|bf16` (as in kinora).
extension ActivationPrecision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}
