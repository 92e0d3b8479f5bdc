import KinoraTensor

extension Graph {
    /// diffusers' `blend_v` / `blend_h` between two neighbouring decoded tiles: along `axis` (a height or width axis,
    /// counted from the front), the first e = min(extent, both sizes) entries of `b` become
    /// a[last e][k] · (1 − k/e) + b[k] · k/e; the rest of `b` is kept. The SD and Wan VAEs' tiled decodes share it.
    func blendTileEdge(_ a: Value, into b: Value, extent: Int, axis: Int) throws -> Value {
        let e = min(extent, a.shape[axis], b.shape[axis])
        guard e > 0 else { return b }
        let ramp = (0..<e).map { Double($0) / Double(e) }
        // The ramp runs along `axis` and broadcasts over the axes after it.
        let shape = [e] + [Int](repeating: 1, count: b.rank - 1 - axis)
        let fromA = try input(ramp.map { Float(1 - $0) }, shape: shape)
        let fromB = try input(ramp.map { Float($0) }, shape: shape)
        let blended = try add(
            multiply(slice(a, axis: axis, start: a.shape[axis] - e, length: e), fromA),
            multiply(slice(b, axis: axis, start: 0, length: e), fromB))
        guard b.shape[axis] > e else { return blended }
        return try concat([blended, slice(b, axis: axis, start: e, length: b.shape[axis] - e)], axis: axis)
    }
}
