/// The parameter names and shapes a checkpoint of a given configuration holds, laid out as diffusers'
/// `UNet2DConditionModel` and `AutoencoderKL` and transformers' `CLIPTextModel(WithProjection)` name them in their
/// `state_dict()` (the keys of the diffusers-format safetensors files).
///
/// Checked name for name against the reference constructors by `CatalogLayoutTests` (table made by
/// `scripts/fixtures/make_catalog_shapes.py`).
public enum CatalogLayout {
    /// A CLIP text encoder's tensors (`text_model.…`, plus `text_projection.weight` when `withProjection`).
    public static func clipText(_ config: CLIPTextConfig, withProjection: Bool) -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        let hidden = config.hiddenSize
        let root = "text_model"
        shapes["\(root).embeddings.token_embedding.weight"] = [config.vocabSize, hidden]
        shapes["\(root).embeddings.position_embedding.weight"] = [config.maxPositionEmbeddings, hidden]
        for index in 0..<config.numHiddenLayers {
            let layer = "\(root).encoder.layers.\(index)"
            for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                linear(&shapes, "\(layer).self_attn.\(projection)", hidden, hidden)
            }
            norm(&shapes, "\(layer).layer_norm1", hidden)
            norm(&shapes, "\(layer).layer_norm2", hidden)
            linear(&shapes, "\(layer).mlp.fc1", hidden, config.intermediateSize)
            linear(&shapes, "\(layer).mlp.fc2", config.intermediateSize, hidden)
        }
        norm(&shapes, "\(root).final_layer_norm", hidden)
        if withProjection {
            shapes["text_projection.weight"] = [config.projectionDim, hidden]
        }
        return shapes
    }

    /// A `UNet2DConditionModel`'s tensors. Throws for configurations `UNet2DConditionModel` does not run.
    public static func unet(_ config: UNet2DConditionConfig) throws -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        let channels = config.blockOutChannels
        let blocks = channels.count
        let temb = config.timeEmbedDim
        let layers = try config.perBlock(config.layersPerBlock, "layers_per_block")
        let transformerLayers = try config.perBlock(config.transformerLayersPerBlock, "transformer_layers_per_block")
        let crossDim = try config.perBlock(config.crossAttentionDim, "cross_attention_dim")
        let linearProjection = config.useLinearProjection

        func resnet(_ name: String, _ input: Int, _ output: Int) {
            norm(&shapes, "\(name).norm1", input)
            conv(&shapes, "\(name).conv1", input, output, kernel: 3)
            linear(&shapes, "\(name).time_emb_proj", temb, output)
            norm(&shapes, "\(name).norm2", output)
            conv(&shapes, "\(name).conv2", output, output, kernel: 3)
            if input != output { conv(&shapes, "\(name).conv_shortcut", input, output, kernel: 1) }
        }
        func transformer(_ name: String, _ width: Int, depth: Int, cross: Int) {
            norm(&shapes, "\(name).norm", width)
            for projection in ["proj_in", "proj_out"] {
                if linearProjection {
                    linear(&shapes, "\(name).\(projection)", width, width)
                } else {
                    conv(&shapes, "\(name).\(projection)", width, width, kernel: 1)
                }
            }
            for index in 0..<depth {
                let block = "\(name).transformer_blocks.\(index)"
                for (attention, context) in [("attn1", width), ("attn2", cross)] {
                    shapes["\(block).\(attention).to_q.weight"] = [width, width]
                    shapes["\(block).\(attention).to_k.weight"] = [width, context]
                    shapes["\(block).\(attention).to_v.weight"] = [width, context]
                    linear(&shapes, "\(block).\(attention).to_out.0", width, width)
                }
                for index in 1...3 { norm(&shapes, "\(block).norm\(index)", width) }
                linear(&shapes, "\(block).ff.net.0.proj", width, 8 * width)
                linear(&shapes, "\(block).ff.net.2", 4 * width, width)
            }
        }

        conv(&shapes, "conv_in", config.inChannels, channels[0], kernel: config.convInKernel)
        linear(&shapes, "time_embedding.linear_1", channels[0], temb)
        linear(&shapes, "time_embedding.linear_2", temb, temb)
        if config.additionEmbedType == "text_time", let added = config.projectionClassEmbeddingsInputDim {
            linear(&shapes, "add_embedding.linear_1", added, temb)
            linear(&shapes, "add_embedding.linear_2", temb, temb)
        }
        for (index, type) in config.downBlockTypes.enumerated() {
            let name = "down_blocks.\(index)", output = channels[index]
            for layer in 0..<layers[index] {
                resnet("\(name).resnets.\(layer)", layer == 0 ? channels[max(index - 1, 0)] : output, output)
                if type.hasPrefix("CrossAttn") {
                    transformer("\(name).attentions.\(layer)", output, depth: transformerLayers[index],
                                cross: crossDim[index])
                }
            }
            if index < blocks - 1 { conv(&shapes, "\(name).downsamplers.0.conv", output, output, kernel: 3) }
        }
        if config.midBlockType != nil {
            let width = channels[blocks - 1]
            resnet("mid_block.resnets.0", width, width)
            resnet("mid_block.resnets.1", width, width)
            transformer("mid_block.attentions.0", width, depth: transformerLayers[blocks - 1],
                        cross: crossDim[blocks - 1])
        }
        let reversed = Array(channels.reversed())
        for (index, type) in config.upBlockTypes.enumerated() {
            let name = "up_blocks.\(index)", output = reversed[index], down = blocks - 1 - index
            let input = reversed[min(index + 1, blocks - 1)], previous = reversed[max(index - 1, 0)]
            let count = layers[down] + 1
            for layer in 0..<count {
                let skip = layer == count - 1 ? input : output
                resnet("\(name).resnets.\(layer)", (layer == 0 ? previous : output) + skip, output)
                if type.hasPrefix("CrossAttn") {
                    transformer("\(name).attentions.\(layer)", output, depth: transformerLayers[down],
                                cross: crossDim[down])
                }
            }
            if index < blocks - 1 { conv(&shapes, "\(name).upsamplers.0.conv", output, output, kernel: 3) }
        }
        norm(&shapes, "conv_norm_out", channels[0])
        conv(&shapes, "conv_out", channels[0], config.outChannels, kernel: config.convOutKernel)
        return shapes
    }

    /// An `AutoencoderKL`'s tensors (encoder, decoder and the quant convolutions the configuration enables).
    public static func autoencoderKL(_ config: AutoencoderKLConfiguration) -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        let channels = config.blockOutChannels
        let last = channels[channels.count - 1]
        let latent = config.latentChannels

        func resnet(_ name: String, _ input: Int, _ output: Int) {
            norm(&shapes, "\(name).norm1", input)
            conv(&shapes, "\(name).conv1", input, output, kernel: 3)
            norm(&shapes, "\(name).norm2", output)
            conv(&shapes, "\(name).conv2", output, output, kernel: 3)
            if input != output { conv(&shapes, "\(name).conv_shortcut", input, output, kernel: 1) }
        }
        func midBlock(_ name: String) {
            resnet("\(name).resnets.0", last, last)
            resnet("\(name).resnets.1", last, last)
            if config.midBlockAddAttention {
                let attention = "\(name).attentions.0"
                norm(&shapes, "\(attention).group_norm", last)
                for projection in ["to_q", "to_k", "to_v", "to_out.0"] {
                    linear(&shapes, "\(attention).\(projection)", last, last)
                }
            }
        }

        conv(&shapes, "encoder.conv_in", config.inChannels, channels[0], kernel: 3)
        for (index, output) in channels.enumerated() {
            let name = "encoder.down_blocks.\(index)"
            for layer in 0..<config.layersPerBlock {
                resnet("\(name).resnets.\(layer)", layer == 0 ? channels[max(index - 1, 0)] : output, output)
            }
            if index < channels.count - 1 {
                conv(&shapes, "\(name).downsamplers.0.conv", output, output, kernel: 3)
            }
        }
        midBlock("encoder.mid_block")
        norm(&shapes, "encoder.conv_norm_out", last)
        conv(&shapes, "encoder.conv_out", last, 2 * latent, kernel: 3)
        if config.useQuantConv { conv(&shapes, "quant_conv", 2 * latent, 2 * latent, kernel: 1) }
        if config.usePostQuantConv { conv(&shapes, "post_quant_conv", latent, latent, kernel: 1) }

        conv(&shapes, "decoder.conv_in", latent, last, kernel: 3)
        midBlock("decoder.mid_block")
        let reversed = Array(channels.reversed())
        for (index, output) in reversed.enumerated() {
            let name = "decoder.up_blocks.\(index)"
            for layer in 0...config.layersPerBlock {
                resnet("\(name).resnets.\(layer)", layer == 0 ? reversed[max(index - 1, 0)] : output, output)
            }
            if index < channels.count - 1 { conv(&shapes, "\(name).upsamplers.0.conv", output, output, kernel: 3) }
        }
        norm(&shapes, "decoder.conv_norm_out", channels[0])
        conv(&shapes, "decoder.conv_out", channels[0], config.outChannels, kernel: 3)
        return shapes
    }

    private static func linear(_ shapes: inout [String: [Int]], _ name: String, _ input: Int, _ output: Int) {
        shapes["\(name).weight"] = [output, input]
        shapes["\(name).bias"] = [output]
    }

    private static func conv(_ shapes: inout [String: [Int]], _ name: String, _ input: Int, _ output: Int,
                             kernel: Int) {
        shapes["\(name).weight"] = [output, input, kernel, kernel]
        shapes["\(name).bias"] = [output]
    }

    private static func norm(_ shapes: inout [String: [Int]], _ name: String, _ width: Int) {
        shapes["\(name).weight"] = [width]
        shapes["\(name).bias"] = [width]
    }
}
