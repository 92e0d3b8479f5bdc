/// How the tensors under a scope of `DeviceWeights` differ from the ones a model reads (`layoutMismatch`).
enum WeightLayoutMismatch {
    /// `tensor` (its full name) is not there; the model reads it with `shape`.
    case missing(tensor: String, shape: [Int])
    case wrongShape(tensor: String, expected: [Int], found: [Int])
    /// `tensor` is there but the model reads no such tensor.
    case extra(tensor: String, shape: [Int])
}

extension DeviceWeights {
    /// The first way the tensors under this scope differ from `expected` (names within the scope, with their shapes):
    /// a tensor missing or of another shape, in `expected`'s order, then one `expected` does not list, in the store's
    /// order. Nil when they match exactly. Models turn it into their own errors, naming the file and the tensor.
    func layoutMismatch(_ expected: [(name: String, shape: [Int])]) -> WeightLayoutMismatch? {
        let scope = prefix.isEmpty ? "" : prefix + "."
        for (name, shape) in expected {
            guard let info = try? store.info(scope + name) else { return .missing(tensor: scope + name, shape: shape) }
            guard info.shape == shape else {
                return .wrongShape(tensor: scope + name, expected: shape, found: info.shape)
            }
        }
        let names = Set(expected.map(\.name))
        for full in store.tensorNames
        where full.hasPrefix(scope) && !names.contains(String(full.dropFirst(scope.count))) {
            return .extra(tensor: full, shape: (try? store.info(full).shape) ?? [])
        }
        return nil
    }
}
