import KinoraGPU
import KinoraReference
import KinoraShaders
import KinoraTensor
import XCTest

/// One validated device and arena shared by the tensor tests; each test fails on any validation message.
enum TensorTestDevice {
    static let shared: GPUDevice = {
        do {
            return try GPUDevice(
                selection: DeviceSelection.fromEnvironment(), validation: true,
                shaders: { ShaderLibrary.spirv(named: $0) })
        } catch {
            fatalError("cannot open a Vulkan device with validation for the tests: \(error)")
        }
    }()
    static let arena = ActivationArena(device: shared)
}

/// Base class for op tests: a fresh graph per call, random inputs, and a validation check after each test.
class TensorTestCase: XCTestCase {
    var device: GPUDevice { TensorTestDevice.shared }
    var arena: ActivationArena { TensorTestDevice.arena }
    /// A seeded generator, fresh for each test so failures reproduce.
    var random = SeededRandom(seed: 0)

    override func setUp() {
        super.setUp()
        // FNV-1a of the test's name: the same inputs on every run (String.hashValue is randomised per process).
        random = SeededRandom(seed: name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 })
    }

    override func tearDown() {
        let messages = TensorTestDevice.shared.instance.validationLog.drain()
        XCTAssertTrue(messages.isEmpty, "validation messages:\n" + messages.map(\.description).joined(separator: "\n"))
        super.tearDown()
    }

    /// The convolution kernel the graphs of `makeGraph` use (`eachConvolutionStrategy` runs a body with each).
    var convolutionStrategy = ConvolutionStrategy.automatic

    /// How the graphs of `makeGraph` lay rows of normalisations and softmax over threads (`eachReductionStrategy`
    /// runs a body with each).
    var reductionStrategy = ReductionStrategy.automatic

    func makeGraph() -> Graph {
        let graph = Graph(arena: arena)
        graph.convolutionStrategy = convolutionStrategy
        graph.reductionStrategy = reductionStrategy
        return graph
    }

    /// Runs `body` once per row layout of normalisations and softmax: a workgroup per row (GPUs) and an invocation
    /// per row (CPU drivers).
    func eachReductionStrategy(_ body: () throws -> Void) rethrows {
        defer { reductionStrategy = .automatic }
        for strategy in [ReductionStrategy.workgroup, .invocation] {
            reductionStrategy = strategy
            try body()
        }
    }

    /// Runs `body` once per convolution kernel: the shared-memory implicit GEMM that GPUs use, the direct kernel
    /// that CPU drivers use and Winograd F(4×4, 3×3) where it applies (Linux XCTest does not discover inherited test
    /// methods, so kernels cannot be subclasses).
    func eachConvolutionStrategy(_ body: () throws -> Void) rethrows {
        defer { convolutionStrategy = .automatic }
        for strategy in [ConvolutionStrategy.sharedMemory, .direct, .winograd] {
            convolutionStrategy = strategy
            try body()
        }
    }

    /// `count` uniform values in [-scale, scale).
    func randomValues(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in random.uniform() * 2 * scale - scale }
    }

    /// Asserts that `actual` matches `expected` within a relative L2 error of `tolerance`.
    func assertClose(
        _ actual: [Float], _ expected: [Double], tolerance: Double, _ message: String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.count, expected.count, "element count \(message)", file: file, line: line)
        guard actual.count == expected.count else { return }
        let error = Reference.relativeL2(actual, expected)
        XCTAssertLessThanOrEqual(
            error, tolerance, "relative L2 error \(error) > \(tolerance) \(message)",
            file: file, line: line)
    }
}
