import KinoraTensor

/// The storage type a model's activations run in (`--precision`): f32, f16 or bf16, with arithmetic and accumulation
/// in f32 inside every kernel.
///
/// By default a model runs in the type of its weights, as diffusers does with `torch_dtype`: f16 weights run f16
/// activations, bf16 weights bf16, f32 weights f32. Float8 weights have no activation type of their own; they run
/// bf16, as ComfyUI computes its float8 checkpoints (f32's range, without f16's overflow in large activations).
public enum ActivationPrecision: String, CaseIterable, Sendable, Codable {
    case fp32, fp16, bf16

    /// The precision named `fp32`, `fp16`, `bf16`, or by its storage type (`f32`, `f16`), as `--kv-cache` and a
    /// workflow's `precision:` spell it.
    public init?(name: String) {
        switch name {
        case "fp32", "f32": self = .fp32
        case "fp16", "f16": self = .fp16
        case "bf16": self = .bf16
        default: return nil
        }
    }

    /// The activation storage type.
    public var dtype: DType {
        switch self {
        case .fp32: return .f32
        case .fp16: return .f16
        case .bf16: return .bf16
        }
    }

    /// The precision a model with weights stored as `weights` runs in unless told otherwise.
    public static func matching(weights: DType) -> ActivationPrecision {
        switch weights {
        case .f32: return .fp32
        case .f16: return .fp16
        case .bf16, .f8e4m3fn, .f8e5m2: return .bf16
        }
    }

    /// `requested` when given, otherwise the precision matching `weights`.
    public static func resolve(_ requested: ActivationPrecision?, weights: DType) -> ActivationPrecision {
        requested ?? matching(weights: weights)
    }
}

/// A model whose activations run, unless `--precision` says otherwise, in the type of its weights, as diffusers' and
/// transformers' `torch_dtype`. (The Wan VAE does not: it runs f32 by default, as Wan's reference does.)
public protocol RunsInWeightsType {
    /// The type of the bulk of the model's weights (`WeightStore.storageType(under:)`).
    var weightsType: DType { get }
}

extension RunsInWeightsType {
    /// The activation type of a pass at `precision`: `precision`'s, or without one the weights' type's.
    public func activationType(_ precision: ActivationPrecision?) -> DType {
        ActivationPrecision.resolve(precision, weights: weightsType).dtype
    }
}
