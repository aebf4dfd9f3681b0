/// REDUCE / NEWOBJ / BINPERSID: the only places a pickle "constructs" things.
/// Each allowlisted callable has a fixed, type-checked argument list and
/// produces a plain value; no code runs.
extension Unpickler {
    mutating func reduce(_ callable: PickleValue, arguments: PickleValue) throws -> PickleValue {
        guard case let .global(global) = callable else {
            throw malformed("REDUCE on a \(callable.kindName), which is not callable")
        }
        guard case let .tuple(argsID) = arguments else {
            throw malformed("\(global.qualifiedName) called with a \(arguments.kindName) instead of an argument tuple")
        }
        let args = heap.nodes[argsID].items
        switch global {
        case .orderedDict:
            return try makeOrderedDict(args)
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7 else {
                throw malformed("_rebuild_tensor_v2 takes 6 or 7 arguments, got \(args.count)")
            }
            return try rebuildTensor(args)
        case .rebuildParameter, .rebuildParameterWithState:
            let expected = global == .rebuildParameter ? 3 : 4
            guard args.count == expected, case .tensor = args[0] else {
                throw malformed("\(global.qualifiedName) expects (tensor, requires_grad, hooks\(expected == 4 ? ", state" : "")), got \(args.count) arguments")
            }
            return args[0]  // a Parameter's data is its tensor
        case .typedStorage, .unsupportedStorage, .untypedStorage, .dtype:
            throw malformed("\(global.qualifiedName) cannot be called from a checkpoint")
        }
    }

    /// `OrderedDict()` or `OrderedDict([(key, value), ...])`.
    private mutating func makeOrderedDict(_ args: [PickleValue]) throws -> PickleValue {
        if args.isEmpty { return try makeNode(.dict, []) }
        guard args.count == 1, let pairs = heap.items(of: args[0]) else {
            throw malformed("collections.OrderedDict takes no arguments or one list of pairs")
        }
        var items: [PickleValue] = []
        for pair in pairs {
            guard case .tuple = pair, let kv = heap.items(of: pair), kv.count == 2 else {
                throw malformed("collections.OrderedDict item is not a (key, value) pair")
            }
            items.append(contentsOf: kv)
        }
        return try makeNode(.dict, items)
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    /// Only types are checked here; sizes are validated against the storage once
    /// the tensor's name is known (TorchStateDict), so errors can name it.
    private mutating func rebuildTensor(_ args: [PickleValue]) throws -> PickleValue {
        guard case let .storage(storage) = args[0] else {
            throw malformed("_rebuild_tensor_v2 argument 1 is a \(args[0].kindName), not a storage")
        }
        guard case let .int(offset) = args[1] else {
            throw malformed("_rebuild_tensor_v2 storage offset is a \(args[1].kindName), not an int")
        }
        let shape = try intTuple(args[2], "size")
        let strides = try intTuple(args[3], "stride")
        guard shape.count == strides.count else {
            throw malformed("_rebuild_tensor_v2 size has \(shape.count) dims but stride has \(strides.count)")
        }
        try reserveItems(shape.count + strides.count + 1)
        heap.tensors.append(PickleTensor(storage: storage, storageOffset: offset, shape: shape, strides: strides))
        return .tensor(heap.tensors.count - 1)
    }

    private func intTuple(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple = value, let items = heap.items(of: value) else {
            throw malformed("_rebuild_tensor_v2 \(what) is a \(value.kindName), not a tuple")
        }
        guard items.count <= limits.maxDims else { throw limit("tensor \(what) of more than \(limits.maxDims) dims") }
        return try items.map { item in
            guard case let .int(number) = item else { throw malformed("_rebuild_tensor_v2 \(what) holds a \(item.kindName)") }
            return number
        }
    }

    /// BINPERSID: `('storage', storage_type, key, location, numel)` names a zip entry.
    mutating func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple = pid, let parts = heap.items(of: pid), parts.count == 5,
              case .string("storage") = parts[0] else {
            throw malformed("persistent id is not ('storage', type, key, location, numel)")
        }
        let dtype: Result<SourceDType, UnsupportedStorage>
        switch parts[1] {
        case let .global(.typedStorage(type)): dtype = .success(type)
        case .global(.untypedStorage): dtype = .success(.u8)  // as torch: untyped storages hold bytes
        case let .global(.unsupportedStorage(name)): dtype = .failure(UnsupportedStorage(typeName: "torch.\(name)"))
        default: throw malformed("persistent id storage type is a \(parts[1].kindName), not a torch storage class")
        }
        // The key becomes a zip entry name: it must be one plain path component.
        guard case let .string(key) = parts[2], !key.isEmpty, key != ".", key != "..",
              !key.contains("/"), !key.contains("\\") else {
            throw malformed("persistent id key is not a plain storage name")
        }
        guard case let .int(count) = parts[4], count >= 0 else {
            throw malformed("storage '\(key)' element count is not a non-negative int")
        }
        heap.storages.append(PickleStorage(dtype: dtype, key: key, elementCount: count))
        return .storage(heap.storages.count - 1)
    }
}
