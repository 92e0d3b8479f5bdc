import Foundation
import KinoraGPU
import KinoraShaders

/// The launch geometry of `matmul_coopmat.comp` for one device and tile: its f16×f16→f32 matrix shape, subgroup size
/// and workgroup tile (`conv_coopmat.comp` and `attention_coopmat.comp` take the medium tile's plan).
struct CooperativeMatrixPlan {
    let tile: CooperativeMatrixTile
    let shape: (m: Int, n: Int, k: Int)
    let subgroupSize: Int

    var bm: Int { tile.rows }
    var bn: Int { tile.columns }
    var bk: Int { tile.depth }
    var subgroupsM: Int { tile.subgroupsM }
    var subgroupsN: Int { tile.subgroupsN }

    /// The plan for the tensor-core kernel `shader` of `op` (the matmul's by default) on `tile`; throws, naming `op`,
    /// where the device has no cooperative matrices (`otherStrategies` says what to use instead), the build has no
    /// such kernel (`kernels` names what is missing), or the tile exceeds the device's shared memory.
    init(device: GPUDevice, tile: CooperativeMatrixTile = .medium, op: String = "matmul",
         shader: String = "matmul_coopmat.f32", otherStrategies: String = "use the shared-memory or direct strategy",
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
        // "MxNxK f16->f32" entries; take one that tiles a subgroup's block and the k step, preferring 16×16×16.
        let block = (m: tile.rows / tile.subgroupsM, n: tile.columns / tile.subgroupsN)
        let candidates = features.cooperativeMatrixShapes.compactMap { text -> (Int, Int, Int)? in
            guard text.hasSuffix("f16->f32") else { return nil }
            let sizes = text.split(separator: " ")[0].split(separator: "x").compactMap { Int($0) }
            guard sizes.count == 3, block.m % sizes[0] == 0, block.n % sizes[1] == 0, tile.depth % sizes[2] == 0
            else { return nil }
            return (sizes[0], sizes[1], sizes[2])
        }
        guard let chosen = candidates.first(where: { $0 == (16, 16, 16) }) ?? candidates.first else {
            throw TensorError.invalidArgument(op: op, reason: "\(device.physical.name) reports no "
                + "f16->f32 cooperative-matrix shape dividing \(block.m)×\(block.n)×\(tile.depth) "
                + "(\(features.cooperativeMatrixShapes))")
        }
        let sharedBytes = tile.sharedBytes(shape: chosen)
        guard sharedBytes <= Int(features.maxSharedMemory) else {
            throw TensorError.invalidArgument(op: op, reason: "the \(tile.rows)×\(tile.columns) tensor-core tile "
                + "needs \(sharedBytes) bytes of shared memory; \(device.physical.name) has "
                + "\(features.maxSharedMemory)")
        }
        self.tile = tile
        shape = chosen
        subgroupSize = Int(features.subgroupSize)
    }

    /// The plan for `batch` matmuls of m × n on `device`: the tile `CooperativeMatrixTile.forProduct` chooses where
    /// the device holds it, the medium tile otherwise (throwing as `init` does where it cannot run that).
    init(device: GPUDevice, m: Int, n: Int, batch: Int) throws {
        let tile = CooperativeMatrixTile.forProduct(m: m, n: n, batch: batch)
        if tile != .medium, let plan = try? CooperativeMatrixPlan(device: device, tile: tile) {
            self = plan
        } else {
            try self.init(device: device)
        }
    }

    /// Specialization constants in `matmul_coopmat.comp`'s order.
    func specialization(transposeB: Bool, hasBias: Bool) -> [UInt32] {
        [subgroupsM * subgroupsN * subgroupSize, 1, 1, bm, bn, bk, shape.m, shape.n, shape.k,
         transposeB ? 1 : 0, hasBias ? 1 : 0, subgroupsM, subgroupsN].map { UInt32($0) }
    }
}
