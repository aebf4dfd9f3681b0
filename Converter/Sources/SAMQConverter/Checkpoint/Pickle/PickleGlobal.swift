/// The only globals a checkpoint's `data.pkl` may name. Resolving a global
/// never imports or calls anything: it maps a (module, name) pair onto one of
/// these cases, and REDUCE later builds plain values from them.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case rebuildParameterWithState
    /// `torch.FloatStorage` and friends.
    case typedStorage(SourceDType)
    /// A `torch.*Storage` class this reader cannot convert (complex, quantized, ...).
    case unsupportedStorage(String)
    /// `torch.storage.UntypedStorage` (bytes; newer torch).
    case untypedStorage
    /// `torch.float32` and friends.
    case dtype(SourceDType)

    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case let .typedStorage(dtype): return "torch.\(Self.storageNames.first { $0.value == dtype }?.key ?? "?")"
        case let .unsupportedStorage(name): return "torch.\(name)"
        case .untypedStorage: return "torch.storage.UntypedStorage"
        case let .dtype(dtype): return "torch.\(dtype.rawValue)"
        }
    }

    static let storageNames: [String: SourceDType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    /// Other storage classes torch defines; safe to name, not convertible.
    static let unsupportedStorageNames: Set<String> = [
        "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage",
        "QUInt4x2Storage", "QUInt2x4Storage", "Float8_e4m3fnStorage", "Float8_e5m2Storage",
    ]

    static let dtypeNames: [String: SourceDType] = [
        "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16,
        "float64": .f64, "double": .f64, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32,
        "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool,
    ]

    /// Resolves `module.name` against the allowlist; nil means refused.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch.storage", "UntypedStorage"), ("torch", "UntypedStorage"): return .untypedStorage
        case ("torch", _):
            if let dtype = storageNames[name] { return .typedStorage(dtype) }
            if unsupportedStorageNames.contains(name) { return .unsupportedStorage(name) }
            if let dtype = dtypeNames[name] { return .dtype(dtype) }
            return nil
        default: return nil
        }
    }
}
