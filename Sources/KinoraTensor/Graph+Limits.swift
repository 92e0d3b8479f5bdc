import KinoraGPU

extension Graph {
    /// One way a recorded dispatch would break a device's limits.
    public struct LimitViolation: Sendable, Equatable, CustomStringConvertible {
        /// The dispatch's label (its op).
        public var op: String
        public var reason: String

        public var description: String { "\(op): \(reason)" }
    }

    /// The extremes of the recorded dispatches: the most workgroups on each axis, the largest binding and the
    /// largest buffer (a value's own storage: an arena slot or an output; inputs are their tensors).
    public struct DispatchExtents: Sendable, Equatable {
        public var workgroups: [UInt32] = [0, 0, 0]
        public var bindingBytes: UInt64 = 0
        public var bufferBytes: UInt64 = 0
    }

    /// Every recorded dispatch checked against `limits` without running anything: its workgroup counts on each axis,
    /// the bytes each of its bindings covers, and the bytes of each buffer it binds (one allocation). Empty when
    /// the graph can run on a device with those limits.
    public func limitViolations(_ limits: DeviceLimits) -> [LimitViolation] {
        var violations: [LimitViolation] = []
        for node in nodes {
            let call = node.call
            let groups = [call.groups.x, call.groups.y, call.groups.z]
            for (axis, count) in groups.enumerated() where count > limits.maxWorkgroupCount[axis] {
                violations.append(
                    LimitViolation(
                        op: call.label,
                        reason: "\(count) workgroups on \(["x", "y", "z"][axis]), more than \(limits.name)'s "
                            + "\(limits.maxWorkgroupCount[axis])"))
            }
            for operand in call.operands {
                let binding = bytes(operand.value)
                if binding > limits.maxStorageBufferRange {
                    violations.append(
                        LimitViolation(
                            op: call.label,
                            reason:
                                "binds \(binding) bytes of \(values[operand.value].shape), more than \(limits.name)'s "
                                + "\(limits.maxStorageBufferRange) a binding"))
                }
                let buffer = bytes(root(of: operand.value).id)
                if buffer > limits.maxMemoryAllocationSize {
                    violations.append(
                        LimitViolation(
                            op: call.label,
                            reason: "a buffer of \(buffer) bytes, more than \(limits.name)'s "
                                + "\(limits.maxMemoryAllocationSize) an allocation"))
                }
            }
        }
        return violations
    }

    /// The extremes over every recorded dispatch.
    public var dispatchExtents: DispatchExtents {
        var extents = DispatchExtents()
        for node in nodes {
            let groups = [node.call.groups.x, node.call.groups.y, node.call.groups.z]
            extents.workgroups = zip(extents.workgroups, groups).map { max($0, $1) }
            for operand in node.call.operands {
                extents.bindingBytes = max(extents.bindingBytes, bytes(operand.value))
                extents.bufferBytes = max(extents.bufferBytes, bytes(root(of: operand.value).id))
            }
        }
        return extents
    }

    private func bytes(_ id: Int) -> UInt64 {
        UInt64(values[id].shape.reduce(1, *) * values[id].dtype.size)
    }
}
