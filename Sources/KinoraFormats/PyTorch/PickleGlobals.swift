/// The globals a checkpoint pickle may name, and what "calling" each one means here: data is rebuilt by Swift code of
/// ours, never by running anything the file says. The list is the part of `torch.load(weights_only=True)`'s allow-list
/// that state dicts use; any other global stops the load with its name.
enum PickleGlobals {
    typealias Failure = PickleMachine.Failure

    /// Whether `global` may appear in a checkpoint at all.
    static func isAllowed(_ global: PickleGlobal) -> Bool {
        switch (global.module, global.name) {
        case ("collections", "OrderedDict"),
            ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2"),
            ("torch._utils", "_rebuild_tensor_v3"), ("torch._utils", "_rebuild_parameter"),
            ("torch._utils", "_rebuild_parameter_with_state"), ("torch._tensor", "_rebuild_from_type_v2"),
            ("torch.nn.parameter", "Parameter"), ("torch", "Tensor"), ("torch", "Size"),
            ("builtins", "set"), ("builtins", "frozenset"), ("__builtin__", "set"),
            ("_codecs", "encode"),
            ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"), ("numpy", "dtype"),
            ("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint"):
            return true
        case ("torch", let name), ("torch.storage", let name):
            return WeightDType(torchStorage: name) != nil || WeightDType(torchDType: name) != nil
        default:
            return false
        }
    }

    /// Whether `global` names a torch storage or dtype that Kinora does not read (`torch.ComplexFloatStorage`,
    /// `torch.uint16`): refused as an unsupported tensor type, not as code.
    static func isTorchType(_ global: PickleGlobal) -> Bool {
        (global.module == "torch" || global.module == "torch.storage")
            && (global.name.hasSuffix("Storage") || global.name.hasPrefix("float") || global.name.hasPrefix("int")
                || global.name.hasPrefix("uint") || global.name.hasPrefix("complex") || global.name.hasPrefix("bits")
                || global.name.hasPrefix("qint") || global.name.hasPrefix("quint"))
    }

    /// The result of calling `global` with `arguments` (REDUCE, NEWOBJ).
    static func call(_ global: PickleGlobal, _ arguments: [PickleValue]) throws -> PickleValue {
        switch (global.module, global.name) {
        case ("collections", "OrderedDict"):
            let dict = PickleDict()
            if let pairs = arguments.first {
                for pair in try items(of: pairs) {
                    guard case .tuple(let keyValue) = pair, keyValue.count == 2 else {
                        throw Failure(reason: "OrderedDict() needs (key, value) pairs")
                    }
                    try dict.set(keyValue[0], keyValue[1])
                }
            }
            return .dict(dict)
        case ("torch._utils", "_rebuild_tensor"):
            return try rebuildTensor(arguments, dtype: nil, minimumCount: 4)
        case ("torch._utils", "_rebuild_tensor_v2"):
            return try rebuildTensor(arguments, dtype: nil, minimumCount: 6)
        case ("torch._utils", "_rebuild_tensor_v3"):
            guard arguments.count >= 7, case .global(let dtypeGlobal) = arguments[6],
                let dtype = WeightDType(torchDType: dtypeGlobal.name)
            else { throw Failure(reason: "_rebuild_tensor_v3 needs a torch dtype as its 7th argument") }
            return try rebuildTensor(arguments, dtype: dtype, minimumCount: 7)
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard let data = arguments.first, case .tensor = data else {
                throw Failure(reason: "\(global) needs a tensor as its first argument")
            }
            return data
        case ("torch._tensor", "_rebuild_from_type_v2"):
            // (function, type, arguments, state): a tensor subclass rebuilt by an allow-listed function.
            guard arguments.count >= 3, case .global(let function) = arguments[0], case .tuple(let inner) = arguments[2]
            else { throw Failure(reason: "_rebuild_from_type_v2 needs (function, type, arguments, state)") }
            return try call(function, inner)
        case ("torch.nn.parameter", "Parameter"):
            guard let data = arguments.first, case .tensor = data else {
                throw Failure(reason: "Parameter() needs a tensor")
            }
            return data
        case ("torch", "Size"):
            return .tuple(try arguments.first.map(items(of:)) ?? [])
        case ("builtins", "set"), ("builtins", "frozenset"), ("__builtin__", "set"):
            let set = PickleList()
            set.items = try arguments.first.map(items(of:)) ?? []
            return .set(set)
        case ("_codecs", "encode"):
            guard case .string(let text) = arguments.first else { throw Failure(reason: "_codecs.encode needs a str") }
            // Python 2 byte strings pickled by Python 3 arrive as latin-1 text; every scalar is one byte.
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"):
            return .opaque("a NumPy scalar")
        case ("numpy", "dtype"):
            return .opaque("a NumPy dtype")
        case ("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint"):
            // The training callback's state that A1111-era .ckpt files carry; Kinora needs none of it.
            return .opaque("a Lightning ModelCheckpoint")
        default:
            throw Failure(reason: "\(global) cannot be called")
        }
    }

    /// The effect of BUILD (`__setstate__`) on `object`: only state that carries no data Kinora uses is accepted.
    static func build(_ object: PickleValue, state: PickleValue) throws -> PickleValue {
        switch object {
        case .dict, .opaque, .tensor:
            // An OrderedDict's `_metadata`, a NumPy dtype's state, a tensor's Python attributes: ignored.
            return object
        default:
            throw Failure(reason: "cannot set the state of \(object.kind)")
        }
    }

    private static func items(of value: PickleValue) throws -> [PickleValue] {
        switch value {
        case .list(let list), .set(let list): return list.items
        case .tuple(let items): return items
        default: throw Failure(reason: "expected a list or tuple, got \(value.kind)")
        }
    }

    private static func integers(_ value: PickleValue, _ what: String) throws -> [Int] {
        try items(of: value).map {
            guard case .int(let integer) = $0 else { throw Failure(reason: "tensor \(what) holds \($0.kind)") }
            return integer
        }
    }

    /// `_rebuild_tensor*(storage, storage_offset, size, stride, ...)`.
    private static func rebuildTensor(_ arguments: [PickleValue], dtype: WeightDType?, minimumCount: Int) throws
        -> PickleValue
    {
        guard arguments.count >= minimumCount, case .storage(let storage) = arguments[0],
            case .int(let offset) = arguments[1]
        else {
            throw Failure(reason: "a tensor rebuild needs (storage, offset, size, stride, ...)")
        }
        let tensor = try TorchTensorReference(
            storage: storage, dtype: dtype ?? storage.dtype, shape: integers(arguments[2], "size"),
            strides: integers(arguments[3], "stride"), offset: offset)
        return .tensor(tensor)
    }
}
