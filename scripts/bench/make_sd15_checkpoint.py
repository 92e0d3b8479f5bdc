"""A random Stable Diffusion 1.5 single-file checkpoint: every tensor of a real one, fp16, seeded, nothing downloaded.

The names are the original ldm layout A1111 and ComfyUI files use (`model.diffusion_model.*`, `first_stage_model.*`,
`cond_stage_model.transformer.text_model.*`) and the shapes are SD 1.5's. Both come from Kinora's own table of the
diffusers SD 1.5 components, Tests/Fixtures/catalog/shapes.json (made from the reference constructors by
scripts/fixtures/make_catalog_shapes.py and checked against Kinora's CatalogLayout by its tests), turned into ldm
names by the inverse of diffusers' `convert_ldm_*` rules, as scripts/fixtures/make_single_file_fixtures.py does for
the tiny fixtures (the VAE attention's linear weights become ldm's 1x1 convolutions).

The values only have to keep activations finite, so that both runtimes do their ordinary work: weights are normal
with standard deviation 1/sqrt(fan-in), embeddings small, norm weights 1 and biases 0. The file is written by hand
(8-byte little-endian header length, JSON header padded to 8 bytes, data), so numpy is all it needs.

    python3 scripts/bench/make_sd15_checkpoint.py OUTPUT.safetensors [--seed N]
"""
import argparse
import json
import math
import pathlib
import struct
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHAPES = ROOT / "Tests/Fixtures/catalog/shapes.json"

# SD 1.5's UNet: two layers per block, the first up block has no attention (UpBlock2D).
LAYERS_PER_BLOCK = 2
UP_BLOCKS_WITH_ATTENTION = [False, True, True, True]
VAE_LEVELS = 4

RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
          "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
UNET_TOP = {"time_embedding.linear_1.": "time_embed.0.", "time_embedding.linear_2.": "time_embed.2.",
            "conv_in.": "input_blocks.0.0.", "conv_norm_out.": "out.0.", "conv_out.": "out.2."}


def unet_name(key):
    """diffusers UNet2DConditionModel name -> ldm UNetModel name (inverse of convert_ldm_unet_checkpoint)."""
    per_block = LAYERS_PER_BLOCK + 1
    for old, new in UNET_TOP.items():
        if key.startswith(old):
            return new + key[len(old):]
    parts = key.split(".")
    if parts[0] == "down_blocks":
        block, kind = int(parts[1]), parts[2]
        if kind == "downsamplers":
            return f"input_blocks.{(block + 1) * per_block}.0.op." + ".".join(parts[5:])
        index = 1 + block * per_block + int(parts[3])
        rest = parts[4:]
        if kind == "resnets":
            return f"input_blocks.{index}.0.{RESNET[rest[0]]}." + ".".join(rest[1:])
        return f"input_blocks.{index}.1." + ".".join(rest)
    if parts[0] == "up_blocks":
        block, kind = int(parts[1]), parts[2]
        if kind == "upsamplers":
            module = 2 if UP_BLOCKS_WITH_ATTENTION[block] else 1
            return f"output_blocks.{block * per_block + per_block - 1}.{module}." + ".".join(parts[4:])
        index = block * per_block + int(parts[3])
        rest = parts[4:]
        if kind == "resnets":
            return f"output_blocks.{index}.0.{RESNET[rest[0]]}." + ".".join(rest[1:])
        return f"output_blocks.{index}.1." + ".".join(rest)
    if parts[0] == "mid_block":
        if parts[1] == "resnets":
            return f"middle_block.{0 if parts[2] == '0' else 2}.{RESNET[parts[3]]}." + ".".join(parts[4:])
        return "middle_block.1." + ".".join(parts[3:])
    sys.exit(f"no ldm name for UNet key {key}")


def vae_name(key, shape):
    """diffusers AutoencoderKL name and shape -> ldm name and shape (inverse of convert_ldm_vae_checkpoint)."""
    parts = key.split(".")
    head = parts[0]
    if head in ("quant_conv", "post_quant_conv") or parts[1] in ("conv_in", "conv_out"):
        return key, shape
    if parts[1] == "conv_norm_out":
        return f"{head}.norm_out.{parts[2]}", shape
    if parts[1] in ("down_blocks", "up_blocks"):
        down = parts[1] == "down_blocks"
        level = int(parts[2]) if down else VAE_LEVELS - 1 - int(parts[2])
        stage = "down" if down else "up"
        if parts[3] == "resnets":
            layer = "nin_shortcut" if parts[5] == "conv_shortcut" else parts[5]
            return f"{head}.{stage}.{level}.block.{parts[4]}.{layer}.{parts[6]}", shape
        return f"{head}.{stage}.{level}.{'downsample' if down else 'upsample'}.conv.{parts[-1]}", shape
    if parts[1] == "mid_block" and parts[2] == "resnets":
        layer = "nin_shortcut" if parts[4] == "conv_shortcut" else parts[4]
        return f"{head}.mid.block_{int(parts[3]) + 1}.{layer}.{parts[5]}", shape
    if parts[1] == "mid_block":
        attention = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"}
        if parts[-1] == "weight" and parts[4] != "group_norm":
            shape = [*shape, 1, 1]
        return f"{head}.mid.attn_1.{attention[parts[4]]}.{parts[-1]}", shape
    sys.exit(f"no ldm name for VAE key {key}")


def ldm_layout():
    """{ldm name: (shape, diffusers name)} of every tensor of an SD 1.5 single file."""
    table = json.loads(SHAPES.read_text())
    layout = {}
    for key, shape in table["sd15UNet"].items():
        layout["model.diffusion_model." + unet_name(key)] = (shape, key)
    for key, shape in table["sd15VAE"].items():
        name, shape = vae_name(key, shape)
        layout["first_stage_model." + name] = (shape, key)
    for key, shape in table["sd15TextEncoder"].items():
        layout["cond_stage_model.transformer.text_model." + key.removeprefix("text_model.")] = (shape, key)
    counts = (len(table["sd15UNet"]), len(table["sd15VAE"]), len(table["sd15TextEncoder"]))
    if len(layout) != sum(counts):
        sys.exit(f"{sum(counts)} tensors map to {len(layout)} ldm names")
    return layout


def values(rng, shape, source):
    """Random fp16 values for the tensor that diffusers names `source`."""
    leaf = source.split(".")[-2] if "." in source else source
    if source.endswith(".bias"):
        return np.zeros(shape, np.float16)
    if "norm" in leaf:
        return np.ones(shape, np.float16)
    if "embedding" in leaf:
        scale = 0.02 if "token" in leaf else 0.01
    else:
        scale = 1 / math.sqrt(math.prod(shape[1:]))
    return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float16)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", type=pathlib.Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    layout = ldm_layout()
    header, offset = {}, 0
    names = sorted(layout)
    for name in names:
        shape = layout[name][0]
        size = 2 * math.prod(shape)
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt", "kinora": f"random SD 1.5, seed {args.seed}"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)

    rng = np.random.default_rng(args.seed)
    partial = args.output.with_name(args.output.name + ".partial")
    with open(partial, "wb") as file:
        file.write(struct.pack("<Q", len(text)))
        file.write(text)
        for name in names:
            shape, source = layout[name]
            file.write(values(rng, shape, source).tobytes())
    partial.rename(args.output)
    print(f"wrote {args.output}: {len(names)} tensors, {offset / 1e9:.2f} GB of fp16 (seed {args.seed})")


if __name__ == "__main__":
    main()
