/// The element type a checkpoint stores for a tensor, before any conversion.
public enum SourceDType: String, CaseIterable, Sendable {
    case f32, f16, bf16, f64, i64, i32, i16, i8, u8, bool

    /// Bytes per element in the file.
    public var itemSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// What a checkpoint says about one tensor: its official `segment_anything`
/// name, stored element type and logical shape.
public struct SourceTensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: SourceDType
    public let shape: [Int]

    public init(name: String, dtype: SourceDType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Number of elements. Shapes are validated (overflow-checked) before a
    /// `SourceTensorInfo` is ever built, so this product cannot overflow.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The container a checkpoint was read from.
public enum CheckpointFormat: String, Sendable {
    /// `torch.save` zip archive (torch >= 1.6): `data.pkl` plus one stored entry per storage.
    case torchZip
    /// Hugging Face safetensors: JSON header followed by one contiguous byte buffer.
    case safetensors
}

/// A checkpoint opened for streaming: metadata is parsed up front, tensor data
/// stays in the memory-mapped file until `readFloat32(named:)` asks for it.
public protocol CheckpointSource: AnyObject {
    var path: String { get }
    var format: CheckpointFormat { get }
    /// In file order, names already mapped to official `segment_anything` names.
    var tensors: [SourceTensorInfo] { get }
    func info(named: String) -> SourceTensorInfo?
    /// Reads one tensor from the mapped file as f32 (f16/bf16/f64 and integer
    /// types converted), in logical C order, honouring torch storage offsets and
    /// strides; then releases the pages it touched.
    func readFloat32(named: String) throws -> [Float]
}
