/// Where a camera move is at a moment of its shot.
extension CameraMove {
    /// The zoom and the crop centre's offsets at `progress` (0 at the shot's first frame, 1 at its last), with the
    /// move's easing applied.
    public func state(at progress: Double) -> (zoom: Double, pan: Double, tilt: Double) {
        let t = min(max(progress, 0), 1)
        let eased = ease == .smooth ? t * t * (3 - 2 * t) : t
        func mix(_ interval: ClosedInterval) -> Double { interval.start + (interval.end - interval.start) * eased }
        return (mix(zoom), mix(pan), mix(tilt))
    }
}
