// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses, one executable per reader, kept out of the main package because they are built only with
// `-sanitize=fuzzer` (which supplies `main`). `scripts/fuzz.sh` builds and runs them; crashes they find are kept under
// `Tests/Fixtures/fuzz/<reader>/` and replayed by the main package's `FuzzRegressionTests`.
let package = Package(
    name: "KinoraFuzz",
    dependencies: [.package(name: "Kinora", path: "..")],
    targets: [
        .target(name: "FuzzSupport", path: "Support"),
        .executableTarget(
            name: "fuzz-safetensors",
            dependencies: ["FuzzSupport", .product(name: "KinoraFormats", package: "Kinora")],
            path: "Targets/Safetensors"),
        .executableTarget(
            name: "fuzz-onnx",
            dependencies: ["FuzzSupport", .product(name: "KinoraFormats", package: "Kinora")],
            path: "Targets/ONNX"),
        .executableTarget(
            name: "fuzz-ncnn",
            dependencies: ["FuzzSupport", .product(name: "KinoraFormats", package: "Kinora")],
            path: "Targets/NCNN"),
        .executableTarget(
            name: "fuzz-pytorch",
            dependencies: ["FuzzSupport", .product(name: "KinoraFormats", package: "Kinora")],
            path: "Targets/PyTorch"),
        .executableTarget(
            name: "fuzz-lora",
            dependencies: ["FuzzSupport", .product(name: "KinoraFormats", package: "Kinora")],
            path: "Targets/LoRA"),
        .executableTarget(
            name: "fuzz-sentencepiece",
            dependencies: ["FuzzSupport", .product(name: "KinoraModels", package: "Kinora")],
            path: "Targets/SentencePiece"),
        .executableTarget(
            name: "fuzz-tokenizer-json",
            dependencies: ["FuzzSupport", .product(name: "KinoraModels", package: "Kinora")],
            path: "Targets/TokenizerJSON"),
        .executableTarget(
            name: "fuzz-workflow",
            dependencies: ["FuzzSupport", .product(name: "KinoraPipeline", package: "Kinora")],
            path: "Targets/Workflow"),
    ]
)
