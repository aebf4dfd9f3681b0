/// A value built by the restricted unpickler.
///
/// Containers live in a `PickleHeap` and are referenced by index. That keeps
/// `PickleValue` flat: a hostile pickle can build reference cycles or million-deep
/// nestings without risking recursive deallocation or unbounded recursion,
/// because nothing here is recursive.
enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    /// Raw bytes are never needed by a state dict; only their length is kept.
    case bytes(count: Int)
    case global(PickleGlobal)
    case tuple(Int)
    case list(Int)
    case dict(Int)
    /// A storage from a persistent id, index into `PickleHeap.storages`.
    case storage(Int)
    /// A tensor from `_rebuild_tensor_v2`, index into `PickleHeap.tensors`.
    case tensor(Int)

    /// A short description for error messages.
    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case let .global(global): return global.qualifiedName
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A storage named by a persistent id `('storage', storage_type, key, location, numel)`.
struct PickleStorage: Equatable {
    /// The element type, or the unsupported storage class name.
    let dtype: Result<SourceDType, UnsupportedStorage>
    let key: String
    let elementCount: Int
}

struct UnsupportedStorage: Error, Equatable {
    let typeName: String
}

/// The arguments of one `_rebuild_tensor_v2` call, not yet validated against
/// the storage (that needs the tensor's name, known only once it is a dict value).
struct PickleTensor: Equatable {
    let storage: Int
    let storageOffset: Int
    let shape: [Int]
    let strides: [Int]
}

/// Container storage for the unpickler. Tuples, lists and dicts are nodes;
/// dicts keep their items as alternating key, value so insertion order is file order.
struct PickleHeap {
    enum Kind { case tuple, list, dict }

    struct Node {
        let kind: Kind
        var items: [PickleValue]
        /// Nesting depth below this node, as known when items were added.
        var depth: Int
    }

    var nodes: [Node] = []
    var storages: [PickleStorage] = []
    var tensors: [PickleTensor] = []

    func items(of value: PickleValue) -> [PickleValue]? {
        switch value {
        case let .tuple(id), let .list(id), let .dict(id): return nodes[id].items
        default: return nil
        }
    }

    /// Key/value pairs of a dict value, in insertion order.
    func pairs(of value: PickleValue) -> [(key: PickleValue, value: PickleValue)]? {
        guard case let .dict(id) = value else { return nil }
        let items = nodes[id].items
        return stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    func depth(of value: PickleValue) -> Int {
        switch value {
        case let .tuple(id), let .list(id), let .dict(id): return nodes[id].depth
        default: return 0
        }
    }
}
