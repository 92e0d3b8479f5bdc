import Foundation
import KinoraGPU

/// Once-per-device comparisons of each tensor-core (cooperative-matrix) kernel with its scalar counterpart, so that
/// a driver or kernel fault on hardware we could not test falls back to the scalar path, with a warning, instead of
/// producing wrong pictures.
enum CooperativeMatrixCheck {
    /// The kernels that have a tensor-core variant, each checked on its own.
    enum Kernel: String, CaseIterable {
        /// The matmul on its medium tile, which every tensor-core matmul can take.
        case matmul
        /// The matmul on its large tile, checked on its own: where it fails, large products take the medium tile.
        case matmulLargeTile = "matmul (large tile)"
        case convolution
        case attention

        /// The larger relative L2 difference between the tensor-core and the scalar kernel on random inputs.
        func compare(on device: GPUDevice) throws -> Double {
            switch self {
            case .matmul: try CooperativeMatrixCheck.compareMatmul(tile: .medium, on: device)
            case .matmulLargeTile: try CooperativeMatrixCheck.compareMatmul(tile: .large, on: device)
            case .convolution: try CooperativeMatrixCheck.compareConvolution(on: device)
            case .attention: try CooperativeMatrixCheck.compareAttention(on: device)
            }
        }

        /// What runs instead where the kernel fails its check.
        var fallback: String {
            self == .matmulLargeTile ? "the medium-tile cooperative-matrix matmul" : "the scalar \(rawValue) kernel"
        }
    }

    private struct Key: Hashable {
        var device: ObjectIdentifier
        var kernel: Kernel
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var results: [Key: Bool] = [:]

    /// Relative L2 error allowed between the f16-operand and the f32 kernel on the checks' random inputs.
    static let tolerance = 5e-3

    /// Whether `kernel`'s tensor-core variant agrees with the scalar one on `device` (computed on first call).
    static func passes(_ kernel: Kernel, on device: GPUDevice) -> Bool {
        let key = Key(device: ObjectIdentifier(device), kernel: kernel)
        if let known = lock.withLock({ results[key] }) { return known }
        let result: Bool
        do {
            let error = try kernel.compare(on: device)
            result = error <= tolerance
            if !result {
                FileHandle.standardError.write(Data(("warning: the cooperative-matrix \(kernel.rawValue) disagrees "
                    + "with the scalar kernel on \(device.physical.name) (relative error \(error)); using "
                    + "\(kernel.fallback)\n").utf8))
            }
        } catch {
            FileHandle.standardError.write(Data(("warning: the cooperative-matrix \(kernel.rawValue) failed on "
                + "\(device.physical.name): \(error); using \(kernel.fallback)\n").utf8))
            result = false
        }
        lock.withLock { results[key] = result }
        return result
    }

    /// ‖actual − expected‖₂ / ‖expected‖₂, infinite when a value is NaN.
    static func relativeDifference(_ actual: [Float], _ expected: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(actual, expected) {
            difference += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
        }
        return difference.isNaN ? .infinity : (difference / max(norm, 1e-30)).squareRoot()
    }

    /// The larger relative L2 difference between the scalar kernel and the tensor-core one on `tile`, on random
    /// products of awkward size (several tiles each way, the last ones partial) with a transposed operand and a bias:
    /// one with an f16 operand, one with a scaled float8 e4m3fn operand (which the tensor-core kernel stages unscaled
    /// and scales as a product).
    static func compareMatmul(tile: CooperativeMatrixTile, on device: GPUDevice) throws -> Double {
        let (m, n, k) = tile == .large ? (150, 200, 50) : (70, 90, 50)
        var generator = SystemRandomNumberGenerator()
        let random = { (count: Int) in (0..<count).map { _ in Float.random(in: -1...1, using: &generator) } }
        let a = try Tensor(random(m * k), shape: [m, k], on: device)
        let b = try Tensor(random(n * k), shape: [n, k], dtype: .f16, on: device)
        let float8 = HostConversion.bytes(of: random(n * k).map { $0 * 448 }, as: .f8e4m3fn)
        let b8 = try float8.withUnsafeBytes {
            try Tensor(bytes: $0, shape: [n, k], dtype: .f8e4m3fn, scale: 1 / 448, on: device)
        }
        let bias = try Tensor(random(n), shape: [n], dtype: .f16, on: device)
        let arena = ActivationArena(device: device)
        func product(_ weight: Tensor, _ strategy: MatmulStrategy) throws -> [Float] {
            let graph = Graph(arena: arena)
            graph.matmulStrategy = strategy
            graph.cooperativeMatrixTile = tile
            let output = try graph.matmul(graph.input(a), graph.input(weight), transposeB: true,
                                          bias: graph.input(bias))
            return try graph.run([output])[0].floats()
        }
        return try [b, b8].map { weight in
            let expected = try product(weight, .sharedMemory)
            return relativeDifference(try product(weight, .cooperativeMatrix), expected)
        }.max() ?? .infinity
    }
}
