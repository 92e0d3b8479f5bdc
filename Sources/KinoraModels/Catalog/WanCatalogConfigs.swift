/// The configurations of the catalogued Wan checkpoints, as `config.json` literals: `Wan-AI/Wan2.1-T2V-1.3B-Diffusers`
/// and `Wan-AI/Wan2.2-TI2V-5B-Diffusers` (`transformer/`, `vae/`, `text_encoder/`, `scheduler/`).
///
/// The values are those diffusers' `scripts/convert_wan_to_diffusers.py` builds the published folders with (its
/// `diffusers_config` of `Wan-T2V-1.3B` and `Wan2.2-TI2V-5B`, `AutoencoderKLWan()` for the Wan 2.1 VAE,
/// `vae22_diffusers_config`, and `UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
/// num_train_timesteps=1000, flow_shift=3.0 / 5.0)`), and google/umt5-xxl's encoder configuration (keys that change
/// no tensor and no arithmetic of the encoder, such as dropout, left out).
/// `scripts/fixtures/make_catalog_shapes.py` reads these literals to build the reference models with diffusers and
/// transformers, so they must stay plain JSON inside `#"""` strings.
enum WanCatalogConfigs {
    static let wan21Transformer = #"""
    {
      "_class_name": "WanTransformer3DModel",
      "added_kv_proj_dim": null,
      "attention_head_dim": 128,
      "cross_attn_norm": true,
      "eps": 1e-06,
      "ffn_dim": 8960,
      "freq_dim": 256,
      "image_dim": null,
      "in_channels": 16,
      "num_attention_heads": 12,
      "num_layers": 30,
      "out_channels": 16,
      "patch_size": [1, 2, 2],
      "qk_norm": "rms_norm_across_heads",
      "rope_max_seq_len": 1024,
      "text_dim": 4096
    }
    """#

    static let wan21VAE = #"""
    {
      "_class_name": "AutoencoderKLWan",
      "attn_scales": [],
      "base_dim": 96,
      "dim_mult": [1, 2, 4, 4],
      "dropout": 0.0,
      "latents_mean": [
        -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508, 0.4134, -0.0715, 0.5517, -0.3632,
        -0.1922, -0.9497, 0.2503, -0.2921
      ],
      "latents_std": [
        2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743, 3.2687, 2.1526, 2.8652, 1.5579, 1.6382,
        1.1253, 2.8251, 1.916
      ],
      "num_res_blocks": 2,
      "temperal_downsample": [false, true, true],
      "z_dim": 16
    }
    """#

    static let wan21Scheduler = #"""
    {
      "_class_name": "UniPCMultistepScheduler",
      "flow_shift": 3.0,
      "num_train_timesteps": 1000,
      "prediction_type": "flow_prediction",
      "use_flow_sigmas": true
    }
    """#

    static let wan22Transformer = #"""
    {
      "_class_name": "WanTransformer3DModel",
      "added_kv_proj_dim": null,
      "attention_head_dim": 128,
      "cross_attn_norm": true,
      "eps": 1e-06,
      "ffn_dim": 14336,
      "freq_dim": 256,
      "image_dim": null,
      "in_channels": 48,
      "num_attention_heads": 24,
      "num_layers": 30,
      "out_channels": 48,
      "patch_size": [1, 2, 2],
      "qk_norm": "rms_norm_across_heads",
      "rope_max_seq_len": 1024,
      "text_dim": 4096
    }
    """#

    static let wan22VAE = #"""
    {
      "_class_name": "AutoencoderKLWan",
      "base_dim": 160,
      "z_dim": 48,
      "is_residual": true,
      "in_channels": 12,
      "out_channels": 12,
      "decoder_base_dim": 256,
      "scale_factor_temporal": 4,
      "scale_factor_spatial": 16,
      "patch_size": 2,
      "latents_mean": [
        -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542, 0.2813, 0.0891,
        0.157, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
        -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.123, -0.0313, -0.1649, 0.0117, 0.0723,
        -0.2839, -0.2083, -0.052, 0.3748, 0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667
      ],
      "latents_std": [
        0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.499, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901, 0.6885,
        0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659, 0.7069, 0.5338,
        0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458,
        1.6887, 0.3971, 1.06, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744
      ],
      "clip_output": false
    }
    """#

    static let wan22Scheduler = #"""
    {
      "_class_name": "UniPCMultistepScheduler",
      "flow_shift": 5.0,
      "num_train_timesteps": 1000,
      "prediction_type": "flow_prediction",
      "use_flow_sigmas": true
    }
    """#

    static let umt5XXL = #"""
    {
      "architectures": ["UMT5EncoderModel"],
      "d_ff": 10240,
      "d_kv": 64,
      "d_model": 4096,
      "dense_act_fn": "gelu_new",
      "feed_forward_proj": "gated-gelu",
      "is_gated_act": true,
      "layer_norm_epsilon": 1e-06,
      "model_type": "umt5",
      "num_heads": 64,
      "num_layers": 24,
      "relative_attention_max_distance": 128,
      "relative_attention_num_buckets": 32,
      "tie_word_embeddings": false,
      "vocab_size": 256384
    }
    """#
}
