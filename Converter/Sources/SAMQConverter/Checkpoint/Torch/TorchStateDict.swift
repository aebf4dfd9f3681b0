/// Finds the state dict in an unpickled `data.pkl` and lists its tensors in
/// insertion (file) order.
///
/// Accepted shapes: a dict whose values are all tensors; or, when the top dict
/// holds no tensors, exactly one nested dict of tensors (e.g. `{"model": sd,
/// "epoch": 3}`). A `module.` prefix on every name (DataParallel) is stripped.
enum TorchStateDict {
    static func namedTensors(root: PickleValue, heap: PickleHeap, path: String) throws -> [(name: String, tensor: PickleTensor)] {
        guard let top = heap.pairs(of: root) else {
            throw CheckpointError.notAStateDict(path: path, fault: "the pickled object is a \(root.kindName), not a dict")
        }
        let pairs: [(key: PickleValue, value: PickleValue)]
        if top.contains(where: { if case .tensor = $0.value { return true } else { return false } }) {
            pairs = top
        } else {
            let nested = top.filter { entry in
                guard let inner = heap.pairs(of: entry.value), !inner.isEmpty else { return false }
                return inner.allSatisfy { if case .tensor = $0.value { return true } else { return false } }
            }
            guard nested.count == 1, let inner = heap.pairs(of: nested[0].value) else {
                let fault = nested.isEmpty
                    ? "it holds no tensors, at the top level or in one nested dict"
                    : "it holds \(nested.count) nested dicts of tensors (\(nested.map { describeKey($0.key) }.joined(separator: ", "))); which one is the model is ambiguous"
                throw CheckpointError.notAStateDict(path: path, fault: fault)
            }
            pairs = inner
        }

        var result: [(name: String, tensor: PickleTensor)] = []
        var seen = Set<String>()
        for (key, value) in pairs {
            guard case let .string(name) = key else {
                throw CheckpointError.notAStateDict(path: path, fault: "a key is a \(key.kindName), not a string")
            }
            guard case let .tensor(id) = value else {
                throw CheckpointError.notAStateDict(path: path, fault: "entry '\(name)' is a \(value.kindName), not a tensor")
            }
            guard seen.insert(name).inserted else { throw CheckpointError.duplicateTensorName(path: path, name: name) }
            result.append((name, heap.tensors[id]))
        }
        let prefix = "module."
        if !result.isEmpty, result.allSatisfy({ $0.name.hasPrefix(prefix) }) {
            result = result.map { (String($0.name.dropFirst(prefix.count)), $0.tensor) }
        }
        return result
    }

    private static func describeKey(_ key: PickleValue) -> String {
        if case let .string(text) = key { return "'\(text)'" }
        return key.kindName
    }
}
