/// An interpreter of Python's pickle format (protocols 0 to 5) that only rebuilds data. A pickle is a program for a
/// stack machine whose GLOBAL and REDUCE opcodes can import and call anything; here GLOBAL accepts only the names in
/// `PickleGlobals` and REDUCE "calls" them by Swift code that builds the value they stand for. Nothing from the file is
/// ever executed, and every read is bounds-checked, so a hostile pickle gets an error naming the opcode's byte.
public struct PickleMachine {
    /// Why the machine stopped: the reason and the offset of the opcode that failed.
    public struct Failure: Error, Equatable {
        public var reason: String
        public var offset: Int?

        init(reason: String, offset: Int? = nil) {
            self.reason = reason
            self.offset = offset
        }
    }

    /// The most entries the stack, the mark stack and the memo may hold together.
    static let maximumValues = 50_000_000
    /// The deepest nesting of containers accepted (state dicts nest a few levels).
    static let maximumDepth = 256

    /// A value on the stack or in the memo, with how deeply it nests (0 for scalars; a list's or dict's own depth is
    /// kept in the container, which may still grow while it is on the stack).
    private struct Entry {
        var value: PickleValue
        var depth: Int

        var nesting: Int {
            switch value {
            case .list(let container), .set(let container): return container.depth
            case .dict(let container): return container.depth
            default: return depth
            }
        }

        var container: PickleContainer? {
            switch value {
            case .list(let container), .set(let container): return container
            case .dict(let container): return container
            default: return nil
            }
        }
    }

    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    private var stack: [Entry] = []
    private var marks: [Int] = []
    private var memo: [Int: Entry] = [:]
    private let persistentLoad: (PickleValue) throws -> PickleValue

    /// A machine reading the pickle that starts at `start` in `bytes`; `persistentLoad` turns a persistent id (a
    /// checkpoint's storage tuple) into a value.
    public init(
        bytes: UnsafeRawBufferPointer, start: Int = 0, persistentLoad: @escaping (PickleValue) throws -> PickleValue
    ) {
        self.bytes = bytes
        self.position = start
        self.persistentLoad = persistentLoad
    }

    /// The offset just past the STOP opcode once `run` has returned: where a following pickle starts.
    public var end: Int { position }

    /// Runs to the STOP opcode and returns the value it leaves.
    public mutating func run() throws -> PickleValue {
        while true {
            let opcodeOffset = position
            do {
                if let result = try step() { return result }
            } catch var failure as Failure {
                failure.offset = failure.offset ?? opcodeOffset
                throw failure
            }
        }
    }

    // MARK: Reading

    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else {
            throw Failure(reason: "the pickle ends inside an opcode's argument (\(count) bytes wanted)")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    private mutating func byte() throws -> UInt8 { try take(1)[0] }

    private mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        T(littleEndian: try take(MemoryLayout<T>.size).loadUnaligned(as: T.self))
    }

    private mutating func length<T: FixedWidthInteger>(_: T.Type) throws -> Int {
        let value = try littleEndian(T.self)
        guard let count = Int(exactly: value), count >= 0, count <= bytes.count - position else {
            throw Failure(reason: "a length of \(value) reaches past the end of the pickle")
        }
        return count
    }

    /// A protocol-0 argument: the bytes up to the next newline, without it.
    private mutating func line() throws -> String {
        guard let newline = bytes[position...].firstIndex(of: 0x0A) else {
            throw Failure(reason: "the pickle ends inside a text argument")
        }
        let text = String(decoding: try take(newline - position), as: UTF8.self)
        position += 1
        return text
    }

    private mutating func utf8(_ count: Int) throws -> String {
        guard let text = String(validating: try take(count), as: UTF8.self) else {
            throw Failure(reason: "a string is not valid UTF-8")
        }
        return text
    }

    // MARK: The stack

    private func checkCapacity() throws {
        guard stack.count + memo.count + marks.count < Self.maximumValues else {
            throw Failure(reason: "more than \(Self.maximumValues) values")
        }
    }

    private mutating func push(_ value: PickleValue, depth: Int = 0) throws {
        try checkCapacity()
        stack.append(Entry(value: value, depth: depth))
    }

    private mutating func push(_ entry: Entry) throws {
        try checkCapacity()
        stack.append(entry)
    }

    private mutating func popEntry() throws -> Entry {
        guard let entry = stack.popLast() else { throw Failure(reason: "the stack is empty") }
        guard marks.last.map({ stack.count >= $0 }) ?? true else {
            throw Failure(reason: "an opcode reached below the last MARK")
        }
        return entry
    }

    private mutating func pop() throws -> PickleValue { try popEntry().value }

    private var topEntry: Entry {
        get throws {
            guard let entry = stack.last, marks.last.map({ stack.count > $0 }) ?? true else {
                throw Failure(reason: "the stack is empty")
            }
            return entry
        }
    }

    /// The entries pushed since the last MARK, which is removed.
    private mutating func popToMark() throws -> [Entry] {
        guard let mark = marks.popLast() else { throw Failure(reason: "no MARK to pop to") }
        let entries = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return entries
    }

    /// Seals `children` as they go into a container and returns the container's depth: one more than the deepest.
    private func nest(_ children: [Entry], into parent: PickleContainer? = nil) throws -> Int {
        var deepest = 0
        for child in children {
            if let container = child.container {
                guard container !== parent else { throw Failure(reason: "a container is put inside itself") }
                container.isSealed = true
            }
            deepest = max(deepest, child.nesting)
        }
        guard deepest < Self.maximumDepth else {
            throw Failure(reason: "containers nest deeper than \(Self.maximumDepth) levels")
        }
        return deepest + 1
    }

    /// The container on top of the stack, which `children` are about to be added to.
    private mutating func openContainer(for children: [Entry]) throws -> (PickleValue, PickleContainer) {
        let top = try topEntry
        guard let container = top.container else { throw Failure(reason: "adding items to \(top.value.kind)") }
        guard !container.isSealed else {
            throw Failure(reason: "the pickle changes \(top.value.kind) after placing it in another container")
        }
        container.depth = max(container.depth, try nest(children, into: container))
        return (top.value, container)
    }

    private mutating func memoize(_ index: Int) throws {
        guard index >= 0 else { throw Failure(reason: "a negative memo index") }
        try checkCapacity()
        memo[index] = try topEntry
    }

    private func memoEntry(_ index: Int) throws -> Entry {
        guard let entry = memo[index] else { throw Failure(reason: "memo entry \(index) was never stored") }
        return entry
    }

    private mutating func global(_ module: String, _ name: String) throws -> PickleValue {
        let global = PickleGlobal(module, name)
        guard PickleGlobals.isAllowed(global) else {
            if PickleGlobals.isTorchType(global) {
                throw Failure(reason: "the tensor type '\(global)' is not supported")
            }
            throw Failure(
                reason: "the pickle refers to the global '\(global)', which is not on the list of things a weights "
                    + "file may contain; it is refused rather than run (a pickle can execute code)")
        }
        return .global(global)
    }

    /// "Calls" `callable` with `arguments` (an entry holding a tuple) through the allow-list.
    private mutating func call(_ callable: PickleValue, _ arguments: Entry) throws {
        guard case .global(let global) = callable else {
            throw Failure(reason: "a call of \(callable.kind), which is not callable")
        }
        guard case .tuple(let values) = arguments.value else {
            throw Failure(reason: "the arguments of \(global) are \(arguments.value.kind), not a tuple")
        }
        let result = try PickleGlobals.call(global, values)
        let entry = Entry(value: result, depth: arguments.nesting)
        if let container = entry.container { container.depth = max(container.depth, arguments.nesting) }
        try push(entry)
    }

    /// A tuple (or frozen set) of `children`.
    private mutating func pushTuple(_ children: [Entry]) throws {
        try push(.tuple(children.map(\.value)), depth: try nest(children))
    }

    private mutating func append(_ children: [Entry]) throws {
        let (value, container) = try openContainer(for: children)
        guard case .list = value, let list = container as? PickleList else {
            throw Failure(reason: "APPEND to \(value.kind)")
        }
        list.items.append(contentsOf: children.map(\.value))
    }

    private mutating func setItems(_ children: [Entry]) throws {
        guard children.count % 2 == 0 else { throw Failure(reason: "SETITEMS with an odd number of values") }
        let (value, container) = try openContainer(for: children)
        guard let dict = container as? PickleDict else { throw Failure(reason: "SETITEM on \(value.kind)") }
        for index in stride(from: 0, to: children.count, by: 2) {
            try dict.set(children[index].value, children[index + 1].value)
        }
    }

    private mutating func addItems(_ children: [Entry]) throws {
        let (value, container) = try openContainer(for: children)
        guard case .set = value, let set = container as? PickleList else {
            throw Failure(reason: "ADDITEMS to \(value.kind)")
        }
        set.items.append(contentsOf: children.map(\.value))
    }

    private func integer(fromLittleEndian data: UnsafeRawBufferPointer) -> PickleValue {
        guard !data.isEmpty else { return .int(0) }
        guard data.count <= 8 else { return .bigInt(Array(data)) }
        var value: UInt64 = 0
        for (index, byte) in data.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        if data.count < 8, data[data.count - 1] & 0x80 != 0 {
            value |= ~UInt64(0) << (8 * UInt64(data.count))
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    private func textInteger(_ text: String) throws -> PickleValue {
        let digits = text.hasSuffix("L") ? String(text.dropLast()) : text
        if digits == "00" { return .bool(false) }
        if digits == "01" { return .bool(true) }
        guard let value = Int(digits) else { throw Failure(reason: "'\(text)' is not an integer") }
        return .int(value)
    }

    // MARK: Opcodes

    /// Runs one opcode; returns the result at STOP.
    private mutating func step() throws -> PickleValue? {
        let opcode = try byte()
        switch opcode {
        case 0x80:  // PROTO
            let version = try byte()
            guard version <= 5 else { throw Failure(reason: "pickle protocol \(version) is newer than 5") }
        case 0x95:  // FRAME: a length hint only.
            _ = try littleEndian(UInt64.self)
        case 0x2E:  // STOP
            guard marks.isEmpty else { throw Failure(reason: "STOP with a MARK still open") }
            let result = try pop()
            guard stack.isEmpty else { throw Failure(reason: "STOP with \(stack.count) values left on the stack") }
            if case .list(let container) = result { container.isSealed = true }
            if case .dict(let container) = result { container.isSealed = true }
            return result
        case 0x30: _ = try pop()  // POP
        case 0x31: _ = try popToMark()  // POP_MARK
        case 0x28:  // MARK
            try checkCapacity()
            marks.append(stack.count)
        case 0x32: try push(try topEntry)  // DUP

        case 0x4E: try push(.none)  // NONE
        case 0x88: try push(.bool(true))  // NEWTRUE
        case 0x89: try push(.bool(false))  // NEWFALSE
        case 0x4B: try push(.int(Int(try byte())))  // BININT1
        case 0x4D: try push(.int(Int(try littleEndian(UInt16.self))))  // BININT2
        case 0x4A: try push(.int(Int(try littleEndian(Int32.self))))  // BININT
        case 0x8A: try push(integer(fromLittleEndian: try take(Int(try byte()))))  // LONG1
        case 0x8B: try push(integer(fromLittleEndian: try take(try length(Int32.self))))  // LONG4
        case 0x49, 0x4C: try push(try textInteger(try line()))  // INT, LONG
        case 0x47:  // BINFLOAT, big-endian
            try push(.float(Double(bitPattern: UInt64(bigEndian: try take(8).loadUnaligned(as: UInt64.self)))))
        case 0x46:  // FLOAT
            let text = try line()
            guard let value = Double(text) else { throw Failure(reason: "'\(text)' is not a float") }
            try push(.float(value))

        case 0x58: try push(.string(try utf8(try length(UInt32.self))))  // BINUNICODE
        case 0x8C: try push(.string(try utf8(Int(try byte()))))  // SHORT_BINUNICODE
        case 0x8D: try push(.string(try utf8(try length(UInt64.self))))  // BINUNICODE8
        case 0x56: try push(.string(try line()))  // UNICODE (raw-unicode-escape; escapes are kept as written)
        case 0x53:  // STRING: a quoted repr; escapes are kept as written.
            let quoted = try line()
            guard quoted.count >= 2, let quote = quoted.first, quote == "'" || quote == "\"", quoted.last == quote
            else {
                throw Failure(reason: "STRING argument \(quoted) is not quoted")
            }
            try push(.string(String(quoted.dropFirst().dropLast())))
        case 0x54: try push(.string(String(decoding: try take(try length(Int32.self)), as: UTF8.self)))  // BINSTRING
        case 0x55: try push(.string(String(decoding: try take(Int(try byte())), as: UTF8.self)))  // SHORT_BINSTRING
        case 0x42: try push(.bytes(Array(try take(try length(UInt32.self)))))  // BINBYTES
        case 0x43: try push(.bytes(Array(try take(Int(try byte())))))  // SHORT_BINBYTES
        case 0x8E, 0x96: try push(.bytes(Array(try take(try length(UInt64.self)))))  // BINBYTES8, BYTEARRAY8

        case 0x29: try push(.tuple([]), depth: 1)  // EMPTY_TUPLE
        case 0x74: try pushTuple(try popToMark())  // TUPLE
        case 0x85: try pushTuple([try popEntry()])  // TUPLE1
        case 0x86:  // TUPLE2
            let second = try popEntry()
            try pushTuple([try popEntry(), second])
        case 0x87:  // TUPLE3
            let third = try popEntry()
            let second = try popEntry()
            try pushTuple([try popEntry(), second, third])
        case 0x5D: try push(.list(PickleList()))  // EMPTY_LIST
        case 0x6C:  // LIST
            let children = try popToMark()
            try push(.list(PickleList()))
            try append(children)
        case 0x61: try append([try popEntry()])  // APPEND
        case 0x65: try append(try popToMark())  // APPENDS
        case 0x7D: try push(.dict(PickleDict()))  // EMPTY_DICT
        case 0x64:  // DICT
            let children = try popToMark()
            try push(.dict(PickleDict()))
            try setItems(children)
        case 0x73:  // SETITEM
            let value = try popEntry()
            let key = try popEntry()
            try setItems([key, value])
        case 0x75: try setItems(try popToMark())  // SETITEMS
        case 0x8F: try push(.set(PickleList()))  // EMPTY_SET
        case 0x90: try addItems(try popToMark())  // ADDITEMS
        case 0x91:  // FROZENSET
            let children = try popToMark()
            try push(.set(PickleList()))
            try addItems(children)

        case 0x70: try memoize(try textInteger(try line()).intValue())  // PUT
        case 0x71: try memoize(Int(try byte()))  // BINPUT
        case 0x72: try memoize(Int(try littleEndian(UInt32.self)))  // LONG_BINPUT
        case 0x94: try memoize(memo.count)  // MEMOIZE
        case 0x67: try push(try memoEntry(try textInteger(try line()).intValue()))  // GET
        case 0x68: try push(try memoEntry(Int(try byte())))  // BINGET
        case 0x6A: try push(try memoEntry(Int(try littleEndian(UInt32.self))))  // LONG_BINGET

        case 0x63:  // GLOBAL
            let module = try line()
            try push(try global(module, try line()))
        case 0x93:  // STACK_GLOBAL
            guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                throw Failure(reason: "STACK_GLOBAL needs two strings")
            }
            try push(try global(module, name))
        case 0x52, 0x81:  // REDUCE, NEWOBJ
            let arguments = try popEntry()
            try call(try pop(), arguments)
        case 0x92:  // NEWOBJ_EX
            _ = try pop()
            let arguments = try popEntry()
            try call(try pop(), arguments)
        case 0x62:  // BUILD
            let state = try pop()
            var object = try popEntry()
            object.value = try PickleGlobals.build(object.value, state: state)
            try push(object)
        case 0x69:  // INST: a class named inline, called with the values since the mark.
            let module = try line()
            let callable = try global(module, try line())
            let children = try popToMark()
            try call(callable, Entry(value: .tuple(children.map(\.value)), depth: try nest(children)))
        case 0x6F:  // OBJ
            var children = try popToMark()
            guard !children.isEmpty else { throw Failure(reason: "OBJ without a class") }
            let callable = children.removeFirst().value
            try call(callable, Entry(value: .tuple(children.map(\.value)), depth: try nest(children)))

        case 0x51: try push(try persistentLoad(try pop()))  // BINPERSID (the storage tuple's depth is not kept)
        case 0x50: try push(try persistentLoad(.string(try line())))  // PERSID

        default:
            throw Failure(reason: "opcode 0x\(String(opcode, radix: 16)) is not supported in a weights file")
        }
        return nil
    }
}

extension PickleValue {
    /// The integer this value holds, for memo indices written as text.
    fileprivate func intValue() throws -> Int {
        guard case .int(let value) = self else { throw PickleMachine.Failure(reason: "expected an integer") }
        return value
    }
}
