import Foundation
import KinoraFormats

/// An A1111/ComfyUI single-file Stable Diffusion checkpoint (`model.diffusion_model.*`, `first_stage_model.*`,
/// `cond_stage_model.*`, SDXL's `conditioner.embedders.*`), opened once: the file is memory-mapped, its keys are
/// mapped to Kinora's internal names (`CheckpointKeyMap.singleFile`) and its family detected, and each component
/// is served by a `ComponentWeightStore` view of the same mapping, so no tensor is copied.
public final class SingleFileCheckpoint: Sendable {
    /// The file's tensors: a safetensors file, or a pickled `.ckpt` read safely, its `state_dict.` level removed.
    public let file: any WeightStore
    public let description: CheckpointDescription
    /// Keys no rule claimed (EMA copies, `alphas_cumprod`, `logit_scale`, ...), ignored.
    public let unmapped: [String]
    private let tensors: [ModelComponent: [MappedTensor]]

    /// Opens `url`; throws when it is not a weight file or not a single-file SD 1.x, 2.x or SDXL checkpoint.
    public init(url: URL) throws {
        file = PrefixStrippedWeightStore.unwrapping(try WeightFile.open(url), prefixes: ["state_dict.", "module."])
        let names = file.tensorNames
        if !names.contains(where: { $0.hasPrefix("model.diffusion_model.") })
            && names.contains(where: { $0.hasPrefix("down_blocks.") || $0.hasPrefix("mid_block.") }) {
            throw WeightsError.unrecognizedCheckpoint(
                file: url.path, reason: "these are diffusers UNet weights; pass the diffusers folder instead")
        }
        description = try CheckpointDescription.detect(shapes: file.shapes, file: url.path)
        let map = try CheckpointKeyMap.singleFile(file.tensorNames, file: url.path)
        unmapped = map.unmapped
        tensors = Dictionary(grouping: map.tensors, by: \.component)
    }

    public var family: ModelFamily { description.family }

    /// Whether the file marks itself as predicting v (ComfyUI's `v_pred` key).
    public var declaresVPrediction: Bool { file.tensorNames.contains("v_pred") }

    /// Whether the file holds `component`.
    public func contains(_ component: ModelComponent) -> Bool { !(tensors[component] ?? []).isEmpty }

    /// The weights of `component` under internal names. For a text encoder, `layers` keeps only the first
    /// `layers` transformer layers (SD 2.x conditions on OpenCLIP's penultimate layer, so its last is dropped).
    public func store(_ component: ModelComponent, layers: Int? = nil) throws -> ComponentWeightStore {
        guard var selected = tensors[component], !selected.isEmpty else {
            let prefixes: [ModelComponent: String] = [
                .unet: "model.diffusion_model.", .vae: "first_stage_model.",
                .textEncoder: family == .sdxl ? "conditioner.embedders.0." : "cond_stage_model.",
                .textEncoder2: "conditioner.embedders.1.",
            ]
            throw WeightsError.unrecognizedCheckpoint(
                file: file.sourceName, reason: "it holds no \(component.rawValue) (no \(prefixes[component] ?? "")* "
                    + "keys); this is not a complete checkpoint")
        }
        if let layers {
            selected = selected.filter { tensor in
                let parts = tensor.name.split(separator: ".")
                guard let index = parts.firstIndex(of: "layers"), index > 0, parts[index - 1] == "encoder",
                      index + 1 < parts.count, let layer = Int(parts[index + 1]) else { return true }
                return layer < layers
            }
        }
        return ComponentWeightStore(base: file, component: component, tensors: selected)
    }

    /// The MLP activation of a text encoder: OpenCLIP (SD 2.x, SDXL's second encoder) uses exact GELU, OpenAI
    /// CLIP quick GELU.
    public func activation(of component: ModelComponent) -> CLIPActivation {
        component == .textEncoder2 || family == .sd2 ? .gelu : .quickGELU
    }
}
