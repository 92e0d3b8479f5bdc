import KinoraGPU

/// A workgroup tile of the tensor-core matmul (`matmul_coopmat.comp`), and which one a product takes.
public enum CooperativeMatrixTile: String, CaseIterable, Sendable {
    /// 64 × 64 outputs, k in steps of 32, on 2 × 2 subgroups of 32 × 32 blocks: the tile any product can take.
    case medium
    /// 128 × 128 outputs, k in steps of 32, on 2 × 2 subgroups of 64 × 64 blocks (the tile and subgroup split of
    /// ggml's cooperative-matrix "l" warptile, which steps k by 16): each staged operand element feeds twice the
    /// products it feeds on the medium tile, for a quarter of the workgroups.
    case large

    /// Whether `device` runs the tensor-core matmul on this tile (it has cooperative matrices, and shared memory for
    /// the tile).
    public func runs(on device: GPUDevice) -> Bool {
        (try? CooperativeMatrixPlan(device: device, tile: self)) != nil
    }

    /// Output rows of the workgroup's tile (its name in benchmark cases).
    public var rows: Int { self == .large ? 128 : 64 }
    /// Output columns of the workgroup's tile.
    var columns: Int { self == .large ? 128 : 64 }
    /// The k step of its staged operands.
    var depth: Int { 32 }
    /// Subgroups along the rows and the columns; each owns one block of the tile.
    var subgroupsM: Int { 2 }
    var subgroupsN: Int { 2 }

    /// Bytes of shared memory `matmul_coopmat.comp` declares with this tile on `shape` device matrices: the f16
    /// operand tiles and one f32 staging matrix per subgroup.
    func sharedBytes(shape: (m: Int, n: Int, k: Int)) -> Int {
        2 * (rows + columns) * depth + 4 * subgroupsM * subgroupsN * shape.m * shape.n
    }

    /// The fewest large workgroups a product must fill before it takes them: about two per SM (compute unit) on the
    /// largest GPUs we target (128 SMs on an RTX 4090, 132 on an H100), so that none idles. Below it we expect the
    /// medium tile's four times as many workgroups, keeping more SMs busy, to outweigh the large tile's operand reuse
    /// (not yet measured: `kinora bench kernels --filter tile` times both tiles on one shape).
    static let largeWorkgroups = 256

    /// The tile for `batch` products of m × n: large where both sides are at least 128 (smaller ones would pad a large
    /// tile's rows or columns with nothing to reuse) and the large tiles number at least `largeWorkgroups`; medium
    /// otherwise. The caller still checks that the device's shared memory holds the large tile.
    static func forProduct(m: Int, n: Int, batch: Int) -> CooperativeMatrixTile {
        guard m >= Self.large.rows, n >= Self.large.columns else { return .medium }
        let workgroups = batch * ((m + Self.large.rows - 1) / Self.large.rows)
            * ((n + Self.large.columns - 1) / Self.large.columns)
        return workgroups >= largeWorkgroups ? .large : .medium
    }
}
