/// A restricted unpickler for torch's `data.pkl` (pickle protocol 2, with the
/// few protocol 4 opcodes newer writers may emit).
///
/// It interprets only the opcodes a state dict uses, resolves globals only from
/// `PickleGlobal`'s allowlist, and never executes anything: REDUCE builds plain
/// values (dicts, tensors) from allowlisted constructors. Every length is
/// checked against the remaining bytes before anything is allocated, and
/// stack, memo, container, nesting and object counts are bounded.
struct Unpickler {
    var cursor: ByteCursor
    let path: String
    let limits: PickleLimits
    var heap = PickleHeap()
    private var stack: [PickleValue] = []
    /// Stack heights at each open MARK. As in CPython's metastack, items below
    /// the innermost mark are out of reach until the mark is popped.
    private var marks: [Int] = []
    private var memo: [UInt32: PickleValue] = [:]
    private var objectCount = 0
    private var totalItems = 0
    /// Offset of the opcode being executed, for error messages.
    private var opcodeOffset = 0

    /// Unpickles `bytes`; `path` names the checkpoint in errors.
    static func load(_ bytes: UnsafeRawBufferPointer, path: String,
                     limits: PickleLimits = .standard) throws -> (root: PickleValue, heap: PickleHeap) {
        var unpickler = Unpickler(bytes: bytes, path: path, limits: limits)
        let root = try unpickler.run()
        return (root, unpickler.heap)
    }

    private init(bytes: UnsafeRawBufferPointer, path: String, limits: PickleLimits) {
        self.path = path
        self.limits = limits
        cursor = ByteCursor(bytes) { what in
            .malformedPickle(path: path, offset: bytes.count, fault: "data ends inside \(what) (truncated)")
        }
    }

    // MARK: Errors

    func malformed(_ fault: String) -> CheckpointError {
        .malformedPickle(path: path, offset: opcodeOffset, fault: fault)
    }

    func limit(_ what: String) -> CheckpointError {
        .pickleLimitExceeded(path: path, offset: opcodeOffset, limit: what)
    }

    // MARK: Main loop

    private mutating func run() throws -> PickleValue {
        while true {
            opcodeOffset = cursor.offset
            let code = try cursor.u8("an opcode")
            guard let opcode = PickleOpcode(rawValue: code) else {
                throw malformed("unsupported opcode 0x\(String(code, radix: 16))")
            }
            if opcode == .stop {
                return try top("STOP")
            }
            try execute(opcode)
        }
    }

    private mutating func execute(_ opcode: PickleOpcode) throws {
        switch opcode {
        case .proto:
            let version = try cursor.u8("PROTO")
            guard version <= 5 else { throw malformed("unknown pickle protocol \(version)") }
        case .frame:
            // Framing only groups opcodes for buffered readers; the whole pickle
            // is already in memory, so the frame length is just checked.
            let length = try cursor.u64("FRAME")
            guard length <= UInt64(cursor.remaining) else { throw malformed("FRAME of \(length) bytes runs past the end") }
        case .stop:
            break  // handled by run()
        case .mark:
            guard marks.count < limits.maxDepth else { throw limit("MARK nesting deeper than \(limits.maxDepth)") }
            marks.append(stack.count)

        case .none: try push(.none)
        case .newTrue: try push(.bool(true))
        case .newFalse: try push(.bool(false))
        case .binInt: try push(.int(Int(Int32(bitPattern: try cursor.u32("BININT")))))
        case .binInt1: try push(.int(Int(try cursor.u8("BININT1"))))
        case .binInt2: try push(.int(Int(try cursor.u16("BININT2"))))
        case .long1: try push(.int(try readLong1()))
        case .binFloat:
            // The one big-endian field in pickle: u64() reads little-endian, so swap.
            try push(.float(Double(bitPattern: try cursor.u64("BINFLOAT").byteSwapped)))

        case .binUnicode: try push(.string(try readString(length: Int(try cursor.u32("BINUNICODE length")), "BINUNICODE")))
        case .shortBinUnicode: try push(.string(try readString(length: Int(try cursor.u8("SHORT_BINUNICODE length")), "SHORT_BINUNICODE")))
        case .binUnicode8: try push(.string(try readString(length: try length64("BINUNICODE8"), "BINUNICODE8")))
        case .binString:
            let length = Int(Int32(bitPattern: try cursor.u32("BINSTRING length")))
            guard length >= 0 else { throw malformed("BINSTRING has negative length \(length)") }
            try push(.string(try readString(length: length, "BINSTRING")))
        case .shortBinString: try push(.string(try readString(length: Int(try cursor.u8("SHORT_BINSTRING length")), "SHORT_BINSTRING")))
        case .binBytes: try push(.bytes(count: try skipBytes(length: Int(try cursor.u32("BINBYTES length")), "BINBYTES")))
        case .shortBinBytes: try push(.bytes(count: try skipBytes(length: Int(try cursor.u8("SHORT_BINBYTES length")), "SHORT_BINBYTES")))
        case .binBytes8: try push(.bytes(count: try skipBytes(length: try length64("BINBYTES8"), "BINBYTES8")))

        case .emptyTuple: try push(try makeNode(.tuple, []))
        case .tuple1, .tuple2, .tuple3:
            let count = opcode == .tuple1 ? 1 : opcode == .tuple2 ? 2 : 3
            let items = try pop(count, "TUPLE\(count)")
            try push(try makeNode(.tuple, items))
        case .tuple: try push(try makeNode(.tuple, try popMark("TUPLE")))
        case .emptyList: try push(try makeNode(.list, []))
        case .list: try push(try makeNode(.list, try popMark("LIST")))
        case .emptyDict: try push(try makeNode(.dict, []))
        case .dict:
            let items = try popMark("DICT")
            guard items.count % 2 == 0 else { throw malformed("DICT with an odd number of items") }
            try push(try makeNode(.dict, items))
        case .append:
            let value = try pop(1, "APPEND")
            try extend(.list, with: value, "APPEND")
        case .appends:
            let values = try popMark("APPENDS")
            try extend(.list, with: values, "APPENDS")
        case .setItem:
            let pair = try pop(2, "SETITEM")
            try extend(.dict, with: pair, "SETITEM")
        case .setItems:
            let pairs = try popMark("SETITEMS")
            guard pairs.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items") }
            try extend(.dict, with: pairs, "SETITEMS")

        case .pop:
            if stack.count > (marks.last ?? 0) { stack.removeLast() } else { _ = try popMark("POP") }
        case .popMark: _ = try popMark("POP_MARK")
        case .dup: try push(try top("DUP"))

        case .binPut: try memoize(UInt32(try cursor.u8("BINPUT index")))
        case .longBinPut: try memoize(try cursor.u32("LONG_BINPUT index"))
        case .memoize: try memoize(UInt32(truncatingIfNeeded: memo.count))
        case .binGet: try push(try recall(UInt32(try cursor.u8("BINGET index"))))
        case .longBinGet: try push(try recall(try cursor.u32("LONG_BINGET index")))

        case .global:
            let module = try readGlobalLine("GLOBAL module")
            let name = try readGlobalLine("GLOBAL name")
            try push(.global(try resolve(module: module, name: name)))
        case .stackGlobal:
            let parts = try pop(2, "STACK_GLOBAL")
            guard case let .string(module) = parts[0], case let .string(name) = parts[1] else {
                throw malformed("STACK_GLOBAL needs two strings, got \(parts[0].kindName) and \(parts[1].kindName)")
            }
            try push(.global(try resolve(module: module, name: name)))
        case .reduce:
            let parts = try pop(2, "REDUCE")
            try push(try reduce(parts[0], arguments: parts[1]))
        case .newObj:
            let parts = try pop(2, "NEWOBJ")
            try push(try reduce(parts[0], arguments: parts[1]))
        case .build:
            // BUILD sets object state (e.g. a state dict's `_metadata`). The
            // state is irrelevant to the tensors, so it is dropped, not applied.
            _ = try pop(1, "BUILD")
            _ = try top("BUILD")
        case .binPersId:
            let pid = try pop(1, "BINPERSID")[0]
            try push(try persistentLoad(pid))
        }
    }

    // MARK: Stack

    mutating func push(_ value: PickleValue) throws {
        guard stack.count < limits.maxStack else { throw limit("stack deeper than \(limits.maxStack) values") }
        objectCount += 1
        guard objectCount <= limits.maxObjects else { throw limit("more than \(limits.maxObjects) objects") }
        stack.append(value)
    }

    /// Pops `count` values above the innermost mark, oldest first.
    private mutating func pop(_ count: Int, _ what: String) throws -> [PickleValue] {
        let floor = marks.last ?? 0
        guard stack.count - floor >= count else { throw malformed("\(what) needs \(count) values, stack has \(stack.count - floor)") }
        let values = Array(stack[(stack.count - count)...])
        stack.removeLast(count)
        return values
    }

    private func top(_ what: String) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.last else { throw malformed("\(what) with an empty stack") }
        return value
    }

    private mutating func popMark(_ what: String) throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw malformed("\(what) without a MARK") }
        let values = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return values
    }

    // MARK: Containers

    /// Counts items against the whole-pickle budget before they are stored.
    mutating func reserveItems(_ count: Int) throws {
        totalItems += count
        guard totalItems <= limits.maxTotalItems else { throw limit("more than \(limits.maxTotalItems) container items in total") }
    }

    mutating func makeNode(_ kind: PickleHeap.Kind, _ items: [PickleValue]) throws -> PickleValue {
        guard items.count <= limits.maxContainerItems else { throw limit("container of more than \(limits.maxContainerItems) items") }
        try reserveItems(items.count + 1)
        let depth = 1 + (items.map { heap.depth(of: $0) }.max() ?? 0)
        guard depth <= limits.maxDepth else { throw limit("containers nested deeper than \(limits.maxDepth)") }
        heap.nodes.append(PickleHeap.Node(kind: kind, items: items, depth: depth))
        let id = heap.nodes.count - 1
        switch kind {
        case .tuple: return .tuple(id)
        case .list: return .list(id)
        case .dict: return .dict(id)
        }
    }

    /// Adds items to the list or dict on top of the stack (APPEND(S), SETITEM(S)).
    private mutating func extend(_ kind: PickleHeap.Kind, with items: [PickleValue], _ what: String) throws {
        let target = try top(what)
        let id: Int
        switch (kind, target) {
        case let (.list, .list(node)), let (.dict, .dict(node)): id = node
        default: throw malformed("\(what) on a \(target.kindName)")
        }
        guard heap.nodes[id].items.count + items.count <= limits.maxContainerItems else {
            throw limit("container of more than \(limits.maxContainerItems) items")
        }
        try reserveItems(items.count)
        let depth = 1 + (items.map { heap.depth(of: $0) }.max() ?? 0)
        guard depth <= limits.maxDepth else { throw limit("containers nested deeper than \(limits.maxDepth)") }
        heap.nodes[id].depth = max(heap.nodes[id].depth, depth)
        heap.nodes[id].items.append(contentsOf: items)
    }

    // MARK: Memo

    private mutating func memoize(_ index: UInt32) throws {
        let value = try top("memo put")
        if memo[index] == nil, memo.count >= limits.maxMemo { throw limit("memo of more than \(limits.maxMemo) entries") }
        memo[index] = value
    }

    private func recall(_ index: UInt32) throws -> PickleValue {
        guard let value = memo[index] else { throw malformed("memo index \(index) was never stored") }
        return value
    }

    private func resolve(module: String, name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal.resolve(module: module, name: name) else {
            throw CheckpointError.forbiddenGlobal(path: path, global: "\(module).\(name)")
        }
        return global
    }
}
