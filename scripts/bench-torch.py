#!/usr/bin/env python3
"""Times in PyTorch the cases `kinora bench kernels --json` timed, on the same machine, and prints each as a ratio.

    kinora bench kernels --size large --json > kernels.json
    python3 scripts/bench-torch.py kernels.json [--device cuda|cpu] [--repeats 5] [--model sd15.json]

Each Kinora case is re-created from its name and shape: the matmuls in the case's dtype on both operands (cuBLAS /
the CPU's BLAS), the linear layer in f16, the convolutions with cuDNN in f16 (channels-first, as Kinora), attention
with `scaled_dot_product_attention` in f16 on CUDA (f32 on the CPU), group and layer norm, softmax, SiLU, the permute
(a contiguous copy), the broadcast add and the f32→f16 cast. Times are medians of `--repeats` runs after a warm-up,
measured with CUDA events on a GPU or the wall clock on the CPU; the ratio is PyTorch's time over Kinora's (above 1:
Kinora is faster). Cases PyTorch has no counterpart for (float8 linear) are listed without a ratio.

With `--model` and the report of `kinora-gpu-check sd15 --json`, SD 1.5's UNet step (batch 2, as with guidance) and
VAE decode at the report's size run through diffusers on random weights (its SD 1.5 configurations written out here,
nothing downloaded) in f16 on CUDA (f32 on the CPU), timed as the kernels are, against Kinora's warm wall-clock
seconds from recording the stage's graph to its output (the recording's share is printed beside the ratio).
"""
import argparse
import json
import re
import statistics
import sys
import time

import torch


def timed(function, device, repeats):
    function()
    if device == "cuda":
        torch.cuda.synchronize()
        samples = []
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            function()
            end.record()
            torch.cuda.synchronize()
            samples.append(start.elapsed_time(end))
        return statistics.median(samples)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def dtype_of(name):
    return {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}.get(name)


def case(result, device):
    """A closure running the PyTorch counterpart of one Kinora result, or None."""
    name, shape = result["name"], result["shape"]
    numbers = [int(n) for n in re.findall(r"\d+", shape)]
    half = torch.float16 if device == "cuda" else torch.float32
    make = lambda *size, dtype=torch.float32: torch.randn(*size, device=device, dtype=dtype)
    if name.startswith("matmul-linear"):
        if "f8" in name:
            return None
        tokens, features = numbers[0], numbers[1]
        x, w, b = make(tokens, features, dtype=half), make(features, features, dtype=half), make(features, dtype=half)
        return lambda: torch.nn.functional.linear(x, w, b)
    if name.startswith("matmul-"):
        dtype = dtype_of(result["dtype"])
        if device == "cpu" and dtype != torch.float32:
            dtype = torch.float32
        n = numbers[0]
        a, b = make(n, n, dtype=dtype), make(n, n, dtype=dtype)
        return lambda: a @ b
    if name.startswith("conv2d"):
        batch, channels, height, width, out = numbers[-5:]
        kernel = 1 if "1x1" in name else 3
        x = make(batch, channels, height, width, dtype=half)
        w, b = make(out, channels, kernel, kernel, dtype=half), make(out, dtype=half)
        return lambda: torch.nn.functional.conv2d(x, w, b, padding=kernel // 2)
    if name.startswith("attention"):
        length, heads, dim = numbers
        q, k, v = (make(1, heads, length, dim, dtype=half) for _ in range(3))
        return lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v)
    if name == "group-norm":
        batch, channels, height, width, groups = numbers
        x, w, b = make(batch, channels, height, width), make(channels), make(channels)
        return lambda: torch.nn.functional.group_norm(x, groups, w, b)
    if name == "layer-norm":
        rows, width = numbers
        x, w, b = make(rows, width), make(width), make(width)
        return lambda: torch.nn.functional.layer_norm(x, (width,), w, b)
    if name == "softmax":
        rows, width = numbers
        x = make(rows, width)
        return lambda: torch.softmax(x, dim=-1)
    if name == "permute-0213":
        x = make(*numbers)
        return lambda: x.permute(0, 2, 1, 3).contiguous()
    if name == "add-broadcast":
        rows, width = numbers[0], numbers[1]
        x, y = make(rows, width), make(width)
        return lambda: x + y
    if name == "silu":
        x = make(numbers[0])
        return lambda: torch.nn.functional.silu(x)
    if name == "cast-f32-f16":
        x = make(numbers[0])
        return lambda: x.to(torch.float16)
    return None


SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, cross_attention_dim=768,
    attention_head_dim=8, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
)
SD15_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
    block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
)


def model_stages(report, device):
    """Closures running diffusers' counterpart of each stage of a `kinora-gpu-check sd15 --json` report."""
    import diffusers

    dtype = torch.float16 if device == "cuda" else torch.float32
    latent = report["size"] // 8
    with torch.device(device):
        unet = diffusers.UNet2DConditionModel(**SD15_UNET).to(dtype).eval()
        vae = diffusers.AutoencoderKL(**SD15_VAE).to(dtype).eval()
    sample = torch.randn(2, 4, latent, latent, device=device, dtype=dtype)
    states = torch.randn(2, 77, 768, device=device, dtype=dtype)
    timestep = torch.tensor([500, 500], device=device)
    z = torch.randn(1, 4, latent, latent, device=device, dtype=dtype)
    return {
        "sd15-unet-step": lambda: unet(sample, timestep, encoder_hidden_states=states).sample,
        "sd15-vae-decode": lambda: vae.decode(z).sample,
    }


def compare_model(path, device, repeats):
    with open(path) as file:
        report = json.load(file)
    stages = model_stages(report, device)
    print(f"\n{report['model']} at {report['size']}x{report['size']}: Kinora on {report['device']}")
    print(f"{'stage':24} {'shape':26} {'kinora ms':>10} {'torch ms':>10} {'ratio':>8}  kinora's recording ms")
    for stage in report["stages"]:
        ours = stage["seconds"] * 1000
        recording = f"{stage['record_seconds'] * 1000:10.3f}" if "record_seconds" in stage else ""
        run = stages.get(stage["name"])
        if run is None:
            print(f"{stage['name']:24} {stage['shape']:26} {ours:10.3f} {'—':>10} {'—':>8}  {recording}")
            continue
        with torch.no_grad():
            theirs = timed(run, device, repeats)
        print(f"{stage['name']:24} {stage['shape']:26} {ours:10.3f} {theirs:10.3f} {theirs / ours:7.2f}x  {recording}")
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kinora_json")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", help="a `kinora-gpu-check sd15 --json` report to compare through diffusers")
    arguments = parser.parse_args()
    with open(arguments.kinora_json) as file:
        report = json.load(file)
    device = arguments.device
    where = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"Kinora on {report['device']}; PyTorch {torch.__version__} on {where}")
    print(f"{'case':24} {'shape':26} {'kinora ms':>10} {'torch ms':>10} {'ratio':>8}")
    for result in report["results"]:
        run = case(result, device)
        ours = result["gpu_ms"]
        if run is None:
            print(f"{result['name']:24} {result['shape']:26} {ours:10.3f} {'—':>10} {'—':>8}")
            continue
        with torch.no_grad():
            theirs = timed(run, device, arguments.repeats)
        print(f"{result['name']:24} {result['shape']:26} {ours:10.3f} {theirs:10.3f} {theirs / ours:7.2f}x")
        sys.stdout.flush()
    if arguments.model:
        compare_model(arguments.model, device, arguments.repeats)


if __name__ == "__main__":
    main()
