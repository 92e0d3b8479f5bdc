import KinoraFormats
/// The Stable Diffusion generations Kinora recognises from their weights.
public enum ModelFamily: String, Sendable, Equatable {
    /// SD 1.x: CLIP ViT-L/14 text encoder, cross-attention context 768.
    case sd1
    /// SD 2.x: OpenCLIP ViT-H/14 text encoder, context 1024.
    case sd2
    /// SDXL base: CLIP ViT-L plus OpenCLIP ViT-bigG, context 2048, pooled-text and size conditioning (`label_emb`).
    case sdxl
}

/// How a checkpoint's files and keys are organised.
public enum CheckpointLayout: String, Sendable, Equatable {
    /// A diffusers folder: `unet/`, `vae/`, `text_encoder/`, `text_encoder_2/`, keys in diffusers/transformers names.
    case diffusers
    /// One A1111/ComfyUI file in the original ldm/sgm layout (`model.diffusion_model.`, `first_stage_model.`, ...).
    case singleFile
}

/// What a checkpoint is, read from its tensor names and shapes: its layout, its family, and the cross-attention
/// context width that decides the family.
public struct CheckpointDescription: Sendable, Equatable {
    public let layout: CheckpointLayout
    public let family: ModelFamily
    public let contextDimension: Int

    public init(layout: CheckpointLayout, family: ModelFamily, contextDimension: Int) {
        self.layout = layout
        self.family = family
        self.contextDimension = contextDimension
    }

    /// Detects layout and family from the shapes of a single-file checkpoint or of a diffusers `unet/` folder.
    /// A single file that carries its text encoders is recognised by their layout, whatever the model's widths:
    /// `conditioner.embedders.*` is SDXL, OpenCLIP under `cond_stage_model.model.` is SD 2.x, OpenAI CLIP under
    /// `cond_stage_model.transformer.` is SD 1.x. Otherwise the context width decides: it is the input width of a
    /// cross-attention key projection (`attn2.to_k.weight` `[inner, ctx]`), and SDXL is confirmed by its additional
    /// embedding (`label_emb` / `add_embedding`).
    public static func detect(shapes: [String: [Int]], file: String) throws -> CheckpointDescription {
        let names = shapes.keys.sorted()
        let layout: CheckpointLayout
        if names.contains(where: { $0.hasPrefix("model.diffusion_model.") }) {
            layout = .singleFile
        } else if names.contains(where: { $0.hasPrefix("down_blocks.") || $0.hasPrefix("mid_block.") }) {
            layout = .diffusers
        } else {
            throw WeightsError.unrecognizedCheckpoint(
                file: file, reason: "no UNet keys (model.diffusion_model.* or down_blocks.*)")
        }
        guard let key = names.first(where: { $0.hasSuffix(".attn2.to_k.weight") }), let shape = shapes[key],
            shape.count == 2
        else {
            throw WeightsError.unrecognizedCheckpoint(
                file: file, reason: "no 2-D cross-attention weight (*.attn2.to_k.weight) to read the context width from"
            )
        }
        let context = shape[1]
        let hasAddedEmbedding = names.contains { $0.contains("label_emb.") || $0.hasPrefix("add_embedding.") }
        if layout == .singleFile, let family = textEncoderFamily(names) {
            return CheckpointDescription(layout: layout, family: family, contextDimension: context)
        }
        let family: ModelFamily
        switch (context, hasAddedEmbedding) {
        case (768, false): family = .sd1
        case (1024, false): family = .sd2
        case (2048, true): family = .sdxl
        default:
            throw WeightsError.unrecognizedCheckpoint(
                file: file,
                reason: "cross-attention context \(context)\(hasAddedEmbedding ? " with" : " without") label_emb "
                    + "matches none of SD1.x (768), SD2.x (1024), SDXL base (2048 with label_emb)")
        }
        return CheckpointDescription(layout: layout, family: family, contextDimension: context)
    }

    /// The family a single file's text-encoder layout names, or nil when it holds no text encoder.
    private static func textEncoderFamily(_ names: [String]) -> ModelFamily? {
        if names.contains(where: { $0.hasPrefix("conditioner.embedders.") }) { return .sdxl }
        if names.contains(where: { $0.hasPrefix("cond_stage_model.model.") }) { return .sd2 }
        if names.contains(where: { $0.hasPrefix("cond_stage_model.transformer.") }) { return .sd1 }
        return nil
    }
}
