import Foundation

/// The samplers of the flow-matching video models (Wan), by the names a workflow uses. A diffusers folder's
/// `scheduler/scheduler_config.json` names its default by class (`init(className:)`).
public enum FlowSamplerKind: String, CaseIterable, Sendable, Codable {
    /// UniPC-bh2 of order 2 with its corrector (`UniPCMultistepScheduler`), the Wan folders' default.
    case unipc
    /// Euler on the flow ODE (`FlowMatchEulerDiscreteScheduler`).
    case euler

    /// The kind of the diffusers class `className` (a configuration's `_class_name`), nil for other classes.
    public init?(className: String) {
        switch className {
        case UniPCMultistepScheduler.name: self = .unipc
        case FlowMatchEulerDiscreteScheduler.name: self = .euler
        default: return nil
        }
    }

    /// The sampler for `steps` steps on the model's scheduler configuration, which may be written for the other
    /// class: its shift carries over (UniPC reads `flow_shift`, Euler `shift`), and UniPC is put in its flow form.
    public func make(configuration: SchedulerConfiguration, steps: Int) throws -> any Sampler {
        var configuration = configuration
        switch self {
        case .unipc:
            if configuration.className == FlowMatchEulerDiscreteScheduler.name {
                configuration.flowShift = configuration.flowShift ?? configuration.shift
                configuration.useFlowSigmas = true
                configuration.predictionType = .flowPrediction
            }
            return try UniPCMultistepScheduler(configuration: configuration, steps: steps)
        case .euler:
            if configuration.className == UniPCMultistepScheduler.name {
                configuration.shift = configuration.shift ?? configuration.flowShift
            }
            return try FlowMatchEulerDiscreteScheduler(configuration: configuration, steps: steps)
        }
    }
}
