import Foundation
import KinoraGPU
import KinoraShaders

/// The launch geometry of `matmul_coopmat.comp` for one device: its f16×f16→f32 matrix shape and subgroup size.
struct CooperativeMatrixPlan {
    let bm = 64, bn = 64, bk = 32
    let subgroupsM = 2, subgroupsN = 2
    let shape: (m: Int, n: Int, k: Int)
    let subgroupSize: Int

    init(device: GPUDevice) throws {
        let features = device.physical.features
        guard features.cooperativeMatrix else {
            throw TensorError.invalidArgument(op: "matmul", reason: "\(device.physical.name) has no "
                + "VK_KHR_cooperative_matrix with f16 inputs; use the shared-memory or direct strategy")
        }
        guard ShaderLibrary.spirv(named: "matmul_coopmat.f32") != nil else {
            throw TensorError.invalidArgument(op: "matmul", reason: "this build has no cooperative-matrix kernels "
                + "(glslang 13 was missing at build time; run scripts/setup.sh and rebuild)")
        }
        // "MxNxK f16->f32" entries; take one that tiles the 32×32 per-subgroup block, preferring 16×16×16.
        let candidates = features.cooperativeMatrixShapes.compactMap { text -> (Int, Int, Int)? in
            guard text.hasSuffix("f16->f32") else { return nil }
            let sizes = text.split(separator: " ")[0].split(separator: "x").compactMap { Int($0) }
            guard sizes.count == 3, 32 % sizes[0] == 0, 32 % sizes[1] == 0, 32 % sizes[2] == 0 else { return nil }
            return (sizes[0], sizes[1], sizes[2])
        }
        guard let chosen = candidates.first(where: { $0 == (16, 16, 16) }) ?? candidates.first else {
            throw TensorError.invalidArgument(op: "matmul", reason: "\(device.physical.name) reports no "
                + "f16->f32 cooperative-matrix shape dividing 32 (\(features.cooperativeMatrixShapes))")
        }
        shape = chosen
        subgroupSize = Int(features.subgroupSize)
    }

    /// Specialization constants in `matmul_coopmat.comp`'s order.
    func specialization(transposeB: Bool, hasBias: Bool) -> [UInt32] {
        [subgroupsM * subgroupsN * subgroupSize, 1, 1, bm, bn, bk, shape.m, shape.n, shape.k,
         transposeB ? 1 : 0, hasBias ? 1 : 0, subgroupsM, subgroupsN].map { UInt32($0) }
    }
}

/// A once-per-device comparison of the cooperative-matrix matmul with the scalar kernel, so that a driver or
/// kernel fault on hardware we could not test falls back to the scalar path instead of producing wrong pictures.
enum CooperativeMatrixCheck {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var results: [ObjectIdentifier: Bool] = [:]

    /// Relative L2 error allowed between the f16-operand and the f32 kernel on the check's random inputs.
    static let tolerance = 5e-3

    /// Whether the tensor-core kernel agrees with the scalar one on `device` (computed on first call).
    static func passes(on device: GPUDevice) -> Bool {
        let key = ObjectIdentifier(device)
        if let known = lock.withLock({ results[key] }) { return known }
        let result: Bool
        do {
            let error = try compare(on: device)
            result = error <= tolerance
            if !result {
                FileHandle.standardError.write(Data(("warning: the cooperative-matrix matmul disagrees with the "
                    + "scalar kernel on \(device.physical.name) (relative error \(error)); using the scalar "
                    + "kernels\n").utf8))
            }
        } catch {
            FileHandle.standardError.write(Data(("warning: the cooperative-matrix matmul failed on "
                + "\(device.physical.name): \(error); using the scalar kernels\n").utf8))
            result = false
        }
        lock.withLock { results[key] = result }
        return result
    }

    /// The larger relative L2 difference between the two kernels on random products of awkward size with a
    /// transposed operand and a bias: one with an f16 operand, one with a scaled float8 e4m3fn operand (which the
    /// tensor-core kernel stages unscaled and scales as a product).
    static func compare(on device: GPUDevice) throws -> Double {
        let (m, n, k) = (70, 90, 50)
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
            let output = try graph.matmul(graph.input(a), graph.input(weight), transposeB: true,
                                          bias: graph.input(bias))
            return try graph.run([output])[0].floats()
        }
        return try [b, b8].map { weight in
            let expected = try product(weight, .sharedMemory)
            let actual = try product(weight, .cooperativeMatrix)
            var difference = 0.0, norm = 0.0
            for (x, y) in zip(actual, expected) {
                difference += Double(x - y) * Double(x - y)
                norm += Double(y) * Double(y)
            }
            return difference.isNaN ? .infinity : (difference / max(norm, 1e-30)).squareRoot()
        }.max() ?? .infinity
    }
}
