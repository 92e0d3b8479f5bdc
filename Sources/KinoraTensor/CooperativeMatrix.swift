import Foundation
import KinoraGPU
import KinoraShaders

/// The launch geometry of `matmul_coopmat.comp` for one device: its f16×f16→f32 matrix shape and subgroup size.
struct CooperativeMatrixPlan {
    let bm = 64, bn = 64, bk = 32
    let subgroupsM = 2, subgroupsN = 2
    let shape: (m: Int, n: Int, k: Int)
    let subgroupSize: Int

    /// The plan for the tensor-core kernel `shader` of `op` (the matmul's by default); throws, naming `op`, where
    /// the device has no cooperative matrices (`otherStrategies` says what to use instead) or the build has no such
    /// kernel (`kernels` names what is missing).
    init(device: GPUDevice, op: String = "matmul", shader: String = "matmul_coopmat.f32",
         otherStrategies: String = "use the shared-memory or direct strategy",
         kernels: String = "cooperative-matrix kernels") throws {
        let features = device.physical.features
        guard features.cooperativeMatrix else {
            throw TensorError.invalidArgument(op: op, reason: "\(device.physical.name) has no "
                + "VK_KHR_cooperative_matrix with f16 inputs; \(otherStrategies)")
        }
        guard ShaderLibrary.spirv(named: shader) != nil else {
            throw TensorError.invalidArgument(op: op, reason: "this build has no \(kernels) "
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
