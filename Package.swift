// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Kinora",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kinora", targets: ["kinora"]),
        .executable(name: "kinora-gpu-check", targets: ["kinora-gpu-check"]),
        .library(name: "KinoraFormats", targets: ["KinoraFormats"]),
        .library(name: "KinoraGPU", targets: ["KinoraGPU"]),
        .library(name: "KinoraTensor", targets: ["KinoraTensor"]),
        .library(name: "KinoraModels", targets: ["KinoraModels"]),
        .library(name: "KinoraMedia", targets: ["KinoraMedia"]),
        .library(name: "KinoraPipeline", targets: ["KinoraPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Vulkan headers plus a C shim that loads libvulkan with dlopen at run time, so a machine without a
        // Vulkan loader gets a clear error instead of a dynamic-link failure.
        .target(
            name: "CVulkan",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(name: "KinoraGPU", dependencies: ["CVulkan"]),
        // GLSL compute shaders from `shaders/`, compiled by glslc at build time and embedded as SPIR-V.
        .target(name: "KinoraShaders", plugins: ["CompileShaders"]),
        .target(name: "KinoraTensor", dependencies: ["KinoraGPU", "KinoraShaders"]),
        // espeak-ng turns text into IPA phonemes for the Piper voices, as Piper's own front end does; loaded with
        // dlopen at first use, so binaries that never speak run without it (its header comes from libespeak-ng-dev).
        .target(
            name: "CEspeakNG",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // Weight files, no GPU: safetensors, ONNX, PyTorch checkpoints, ncnn; every offset and shape checked.
        .target(name: "KinoraFormats"),
        .target(name: "KinoraModels", dependencies: ["KinoraFormats", "KinoraTensor", "CEspeakNG"]),
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libavutil libswscale libswresample libavfilter",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev",
                              "libswresample-dev", "libavfilter-dev"])]
        ),
        .systemLibrary(
            name: "CSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        .systemLibrary(
            name: "CEBUR128",
            pkgConfig: "libebur128",
            providers: [.apt(["libebur128-dev"])]
        ),
        .target(name: "KinoraMedia", dependencies: ["KinoraFormats", "CFFmpeg", "CSndFile", "CEBUR128"]),
        // Workflow files, the stage graph, the memory-fitting planner, the stage cache and progress events.
        .target(
            name: "KinoraPipeline",
            dependencies: ["KinoraModels", "KinoraMedia", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "kinora",
            dependencies: [
                "KinoraGPU", "KinoraTensor", "KinoraModels", "KinoraMedia", "KinoraPipeline", "KinoraKernelCheck",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Double-precision CPU references of the kernels, shared by the tensor tests and the conformance check.
        .target(name: "KinoraReference", dependencies: ["KinoraTensor", "KinoraFormats"]),
        // Every kernel checked against its reference on a device, and the kernel benchmarks (kinora bench kernels).
        .target(name: "KinoraKernelCheck", dependencies: ["KinoraGPU", "KinoraTensor", "KinoraReference"]),
        // A media-free binary for a lent GPU machine (scripts/gpu-check.sh): devices, conformance, benchmarks and
        // SD 1.5 stage timings; it links statically with --static-swift-stdlib and loads libvulkan with dlopen.
        .executableTarget(
            name: "kinora-gpu-check",
            dependencies: [
                "KinoraGPU", "KinoraShaders", "KinoraTensor", "KinoraKernelCheck", "KinoraModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .plugin(name: "CompileShaders", capability: .buildTool()),
        .testTarget(name: "KinoraFormatsTests", dependencies: ["KinoraFormats", "KinoraTestSupport"]),
        .testTarget(name: "KinoraGPUTests", dependencies: ["KinoraGPU", "KinoraShaders"]),
        .testTarget(name: "KinoraTensorTests",
                    dependencies: ["KinoraTensor", "KinoraFormats", "KinoraReference", "KinoraKernelCheck"]),
        .testTarget(name: "KinoraModelsTests", dependencies: ["KinoraModels", "KinoraTestSupport"]),
        .testTarget(name: "KinoraMediaTests", dependencies: ["KinoraMedia"]),
        .testTarget(name: "KinoraPipelineTests", dependencies: ["KinoraPipeline", "KinoraTestSupport"]),
        .testTarget(name: "KinoraCLITests", dependencies: ["kinora", "kinora-gpu-check", "KinoraTestSupport"]),
        // What several test targets share: a validated device, running the built command, single-file fixtures.
        .target(name: "KinoraTestSupport", dependencies: ["KinoraModels", "KinoraShaders"],
                path: "Tests/KinoraTestSupport"),
    ]
)
