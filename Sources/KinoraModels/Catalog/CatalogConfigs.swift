/// The `config.json` files of the catalogued checkpoints, verbatim: runwayml/stable-diffusion-v1-5,
/// stabilityai/stable-diffusion-2-1 and stabilityai/stable-diffusion-xl-base-1.0 (`text_encoder/`, `text_encoder_2/`,
/// `unet/`, `vae/`).
/// `scripts/fixtures/make_catalog_shapes.py` reads these literals to build the reference models with diffusers and
/// transformers, so they must stay plain JSON inside `#"""` strings.
enum CatalogConfigs {
    static let sd15TextEncoder = #"""
    {
      "_name_or_path": "openai/clip-vit-large-patch14",
      "architectures": [
        "CLIPTextModel"
      ],
      "attention_dropout": 0.0,
      "bos_token_id": 0,
      "dropout": 0.0,
      "eos_token_id": 2,
      "hidden_act": "quick_gelu",
      "hidden_size": 768,
      "initializer_factor": 1.0,
      "initializer_range": 0.02,
      "intermediate_size": 3072,
      "layer_norm_eps": 1e-05,
      "max_position_embeddings": 77,
      "model_type": "clip_text_model",
      "num_attention_heads": 12,
      "num_hidden_layers": 12,
      "pad_token_id": 1,
      "projection_dim": 768,
      "torch_dtype": "float32",
      "transformers_version": "4.22.0.dev0",
      "vocab_size": 49408
    }
    """#

    static let sd15UNet = #"""
    {
      "_class_name": "UNet2DConditionModel",
      "_diffusers_version": "0.6.0",
      "act_fn": "silu",
      "attention_head_dim": 8,
      "block_out_channels": [
        320,
        640,
        1280,
        1280
      ],
      "center_input_sample": false,
      "cross_attention_dim": 768,
      "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D"
      ],
      "downsample_padding": 1,
      "flip_sin_to_cos": true,
      "freq_shift": 0,
      "in_channels": 4,
      "layers_per_block": 2,
      "mid_block_scale_factor": 1,
      "norm_eps": 1e-05,
      "norm_num_groups": 32,
      "out_channels": 4,
      "sample_size": 64,
      "up_block_types": [
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D"
      ]
    }
    """#

    static let sd15VAE = #"""
    {
      "_class_name": "AutoencoderKL",
      "_diffusers_version": "0.6.0",
      "act_fn": "silu",
      "block_out_channels": [
        128,
        256,
        512,
        512
      ],
      "down_block_types": [
        "DownEncoderBlock2D",
        "DownEncoderBlock2D",
        "DownEncoderBlock2D",
        "DownEncoderBlock2D"
      ],
      "in_channels": 3,
      "latent_channels": 4,
      "layers_per_block": 2,
      "norm_num_groups": 32,
      "out_channels": 3,
      "sample_size": 512,
      "up_block_types": [
        "UpDecoderBlock2D",
        "UpDecoderBlock2D",
        "UpDecoderBlock2D",
        "UpDecoderBlock2D"
      ]
    }
    """#

    static let sd2TextEncoder = #"""
    {
      "_name_or_path": "hf-models/stable-diffusion-v2-768x768/text_encoder",
      "architectures": [
        "CLIPTextModel"
      ],
      "attention_dropout": 0.0,
      "bos_token_id": 0,
      "dropout": 0.0,
      "eos_token_id": 2,
      "hidden_act": "gelu",
      "hidden_size": 1024,
      "initializer_factor": 1.0,
      "initializer_range": 0.02,
      "intermediate_size": 4096,
      "layer_norm_eps": 1e-05,
      "max_position_embeddings": 77,
      "model_type": "clip_text_model",
      "num_attention_heads": 16,
      "num_hidden_layers": 23,
      "pad_token_id": 1,
      "projection_dim": 512,
      "torch_dtype": "float32",
      "transformers_version": "4.25.0.dev0",
      "vocab_size": 49408
    }
    """#

    static let sd2UNet = #"""
    {
      "_class_name": "UNet2DConditionModel",
      "_diffusers_version": "0.10.0.dev0",
      "act_fn": "silu",
      "attention_head_dim": [
        5,
        10,
        20,
        20
      ],
      "block_out_channels": [
        320,
        640,
        1280,
        1280
      ],
      "center_input_sample": false,
      "cross_attention_dim": 1024,
      "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D"
      ],
      "downsample_padding": 1,
      "dual_cross_attention": false,
      "flip_sin_to_cos": true,
      "freq_shift": 0,
      "in_channels": 4,
      "layers_per_block": 2,
      "mid_block_scale_factor": 1,
      "norm_eps": 1e-05,
      "norm_num_groups": 32,
      "num_class_embeds": null,
      "only_cross_attention": false,
      "out_channels": 4,
      "sample_size": 96,
      "up_block_types": [
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D"
      ],
      "upcast_attention": true,
      "use_linear_projection": true
    }
    """#

    static let sd2VAE = #"""
    {
      "_class_name": "AutoencoderKL",
      "_diffusers_version": "0.10.0.dev0",
      "act_fn": "silu",
      "block_out_channels": [
        128,
        256,
        512,
        512
      ],
      "down_block_types": [
        "DownEncoderBlock2D",
        "DownEncoderBlock2D",
        "DownEncoderBlock2D",
        "DownEncoderBlock2D"
      ],
      "in_channels": 3,
      "latent_channels": 4,
      "layers_per_block": 2,
      "norm_num_groups": 32,
      "out_channels": 3,
      "sample_size": 768,
      "up_block_types": [
        "UpDecoderBlock2D",
        "UpDecoderBlock2D",
        "UpDecoderBlock2D",
        "UpDecoderBlock2D"
      ]
    }
    """#

    static let sdxlTextEncoder = #"""
    {
      "architectures": [
        "CLIPTextModel"
      ],
      "attention_dropout": 0.0,
      "bos_token_id": 0,
      "dropout": 0.0,
      "eos_token_id": 2,
      "hidden_act": "quick_gelu",
      "hidden_size": 768,
      "initializer_factor": 1.0,
      "initializer_range": 0.02,
      "intermediate_size": 3072,
      "layer_norm_eps": 1e-05,
      "max_position_embeddings": 77,
      "model_type": "clip_text_model",
      "num_attention_heads": 12,
      "num_hidden_layers": 12,
      "pad_token_id": 1,
      "projection_dim": 768,
      "torch_dtype": "float16",
      "transformers_version": "4.32.0.dev0",
      "vocab_size": 49408
    }
    """#

    static let sdxlTextEncoder2 = #"""
    {
      "architectures": [
        "CLIPTextModelWithProjection"
      ],
      "attention_dropout": 0.0,
      "bos_token_id": 0,
      "dropout": 0.0,
      "eos_token_id": 2,
      "hidden_act": "gelu",
      "hidden_size": 1280,
      "initializer_factor": 1.0,
      "initializer_range": 0.02,
      "intermediate_size": 5120,
      "layer_norm_eps": 1e-05,
      "max_position_embeddings": 77,
      "model_type": "clip_text_model",
      "num_attention_heads": 20,
      "num_hidden_layers": 32,
      "pad_token_id": 1,
      "projection_dim": 1280,
      "torch_dtype": "float16",
      "transformers_version": "4.32.0.dev0",
      "vocab_size": 49408
    }
    """#

    static let sdxlUNet = #"""
    {
      "_class_name": "UNet2DConditionModel",
      "_diffusers_version": "0.19.0.dev0",
      "act_fn": "silu",
      "addition_embed_type": "text_time",
      "addition_embed_type_num_heads": 64,
      "addition_time_embed_dim": 256,
      "attention_head_dim": [
        5,
        10,
        20
      ],
      "block_out_channels": [
        320,
        640,
        1280
      ],
      "center_input_sample": false,
      "class_embed_type": null,
      "class_embeddings_concat": false,
      "conv_in_kernel": 3,
      "conv_out_kernel": 3,
      "cross_attention_dim": 2048,
      "cross_attention_norm": null,
      "down_block_types": [
        "DownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D"
      ],
      "downsample_padding": 1,
      "dual_cross_attention": false,
      "encoder_hid_dim": null,
      "encoder_hid_dim_type": null,
      "flip_sin_to_cos": true,
      "freq_shift": 0,
      "in_channels": 4,
      "layers_per_block": 2,
      "mid_block_only_cross_attention": null,
      "mid_block_scale_factor": 1,
      "mid_block_type": "UNetMidBlock2DCrossAttn",
      "norm_eps": 1e-05,
      "norm_num_groups": 32,
      "num_attention_heads": null,
      "num_class_embeds": null,
      "only_cross_attention": false,
      "out_channels": 4,
      "projection_class_embeddings_input_dim": 2816,
      "resnet_out_scale_factor": 1.0,
      "resnet_skip_time_act": false,
      "resnet_time_scale_shift": "default",
      "sample_size": 128,
      "time_cond_proj_dim": null,
      "time_embedding_act_fn": null,
      "time_embedding_dim": null,
      "time_embedding_type": "positional",
      "timestep_post_act": null,
      "transformer_layers_per_block": [
        1,
        2,
        10
      ],
      "up_block_types": [
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "UpBlock2D"
      ],
      "upcast_attention": null,
      "use_linear_projection": true
    }
    """#

    static let sdxlVAE = #"""
    {
      "_class_name": "AutoencoderKL",
      "_diffusers_version": "0.20.0.dev0",
      "_name_or_path": "../sdxl-vae/",
      "act_fn": "silu",
      "block_out_channels": [
        128,
        256,
        512,
        512
      ],
      "down_block_types": [
        "DownEncoderBlock2D",
        "DownEncoderBlock2D",
        "DownEncoderBlock2D",
        "DownEncoderBlock2D"
      ],
      "force_upcast": true,
      "in_channels": 3,
      "latent_channels": 4,
      "layers_per_block": 2,
      "norm_num_groups": 32,
      "out_channels": 3,
      "sample_size": 1024,
      "scaling_factor": 0.13025,
      "up_block_types": [
        "UpDecoderBlock2D",
        "UpDecoderBlock2D",
        "UpDecoderBlock2D",
        "UpDecoderBlock2D"
      ]
    }
    """#
}
