/// A tensor of a torch checkpoint, validated against its storage's zip entry.
struct TorchTensorRecord: Equatable {
    let name: String
    let dtype: SourceDType
    let layout: StridedLayout
    let entry: ZipEntry

    /// Checks a `_rebuild_tensor_v2` view against its storage: non-negative
    /// dims and strides, overflow-checked sizes, the view inside the storage,
    /// the storage inside its zip entry.
    init(name: String, tensor: PickleTensor, heap: PickleHeap, archive: ZipArchive, prefix: String, path: String) throws {
        func invalid(_ fault: String) -> CheckpointError { .invalidTensor(path: path, tensor: name, fault: fault) }
        let storage = heap.storages[tensor.storage]
        let dtype: SourceDType
        switch storage.dtype {
        case let .success(type): dtype = type
        case let .failure(unsupported): throw CheckpointError.unsupportedDType(path: path, tensor: name, dtype: unsupported.typeName)
        }
        if let negative = tensor.shape.first(where: { $0 < 0 }) {
            throw invalid("negative dimension \(negative) in shape \(tensor.shape)")
        }
        if let negative = tensor.strides.first(where: { $0 < 0 }) {
            throw invalid("negative stride \(negative) in strides \(tensor.strides)")
        }
        guard tensor.storageOffset >= 0 else { throw invalid("negative storage offset \(tensor.storageOffset)") }
        let layout = StridedLayout(offset: tensor.storageOffset, shape: tensor.shape, strides: tensor.strides)
        guard let count = layout.elementCount, Checked.multiply(count, dtype.itemSize) != nil else {
            throw invalid("shape \(tensor.shape) has an element count that overflows")
        }
        guard let extent = layout.storageExtent else {
            throw invalid("view (offset \(tensor.storageOffset), shape \(tensor.shape), strides \(tensor.strides)) overflows")
        }
        guard extent <= storage.elementCount else {
            throw invalid("view (offset \(tensor.storageOffset), shape \(tensor.shape), strides \(tensor.strides)) reaches element \(extent) past its storage of \(storage.elementCount) elements")
        }
        // An expanded view (stride 0) could claim far more elements than its
        // storage holds; reading it would allocate without bound. SAM never has one.
        guard count <= max(storage.elementCount, 0) || count == 0 else {
            throw invalid("view has \(count) elements but its storage only \(storage.elementCount) (expanded views are not supported)")
        }
        let entryName = "\(prefix)data/\(storage.key)"
        guard let entry = archive.entry(named: entryName) else {
            throw CheckpointError.missingStorage(path: path, tensor: name, entry: entryName)
        }
        try archive.requireStored(entry)
        guard let storageBytes = Checked.multiply(storage.elementCount, dtype.itemSize), storageBytes <= entry.data.count else {
            throw invalid("storage '\(entryName)' claims \(storage.elementCount) \(dtype.rawValue) elements but the entry holds \(entry.data.count) bytes")
        }
        self.name = name
        self.dtype = dtype
        self.layout = layout
        self.entry = entry
    }
}
