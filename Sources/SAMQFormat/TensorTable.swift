/// Binary encoding of the tensor table.
///
/// Entries have fixed-width numeric fields, so the table's size is known as
/// soon as the names and shapes are: the writer reserves it up front, streams
/// tensors after it, and fills in offsets and checksums at the end. That keeps
/// conversion memory at one tensor, whatever the model size.
///
/// Entry: name length u16 · name (UTF-8) · dtype u8 · layout u8 · codec u8 ·
/// gemm view u8 (0 none, 1 linear, 2 conv, 3 convTranspose) · rank u8 ·
/// 3 reserved bytes · dims u64×rank · offset u64 · stored size u64 ·
/// raw size u64 · checksum u64.
public enum TensorTable {
    public static func encodedSize(of entries: [TensorEntry]) -> Int {
        entries.reduce(0) { $0 + 2 + $1.name.utf8.count + 8 + 8 * $1.shape.count + 32 }
    }

    public static func encode(_ entries: [TensorEntry]) -> [UInt8] {
        var out = ByteWriter()
        for entry in entries {
            let name = Array(entry.name.utf8)
            out.append(UInt16(name.count))
            out.append(name)
            out.append(entry.dtype.rawValue)
            out.append(entry.layout.rawValue)
            out.append(entry.codec.rawValue)
            out.append(viewCode(entry.gemmView))
            out.append(UInt8(entry.shape.count))
            out.append([0, 0, 0])
            for dim in entry.shape { out.append(UInt64(dim)) }
            out.append(UInt64(entry.offset)); out.append(UInt64(entry.storedSize))
            out.append(UInt64(entry.rawSize)); out.append(entry.checksum)
        }
        return out.bytes
    }

    /// Decodes `count` entries, checking each field's range. Cross-entry and
    /// file-size checks are the reader's job.
    public static func decode(_ bytes: UnsafeRawBufferPointer, count: Int) throws -> [TensorEntry] {
        var reader = ByteReader(bytes)
        var entries: [TensorEntry] = []
        entries.reserveCapacity(min(count, SAMQLimits.maxTensorCount))
        for index in 0..<count {
            let nameLength = Int(try reader.u16())
            guard nameLength > 0, nameLength <= SAMQLimits.maxNameLength else {
                throw SAMQFormatError.table("entry \(index): name length \(nameLength) is out of range")
            }
            guard let name = String(validating: try reader.bytes(nameLength), as: UTF8.self) else {
                throw SAMQFormatError.table("entry \(index): name is not valid UTF-8")
            }
            func fault(_ text: String) -> SAMQFormatError { .tensor(name: name, fault: text) }
            let dtypeCode = try reader.u8(), layoutCode = try reader.u8(), codecCode = try reader.u8()
            let viewCodeValue = try reader.u8(), rank = Int(try reader.u8())
            _ = try reader.bytes(3)
            guard let dtype = StoredDType(rawValue: dtypeCode) else { throw fault("unknown dtype code \(dtypeCode)") }
            guard let layout = TensorLayout(rawValue: layoutCode) else { throw fault("unknown layout code \(layoutCode)") }
            guard let codec = TensorCodec(rawValue: codecCode) else { throw fault("unknown codec code \(codecCode)") }
            guard viewCodeValue <= 3 else { throw fault("unknown GEMM view code \(viewCodeValue)") }
            guard rank >= 1, rank <= SAMQLimits.maxRank else { throw fault("rank \(rank) is out of range 1...\(SAMQLimits.maxRank)") }
            var shape: [Int] = []
            for _ in 0..<rank {
                let dim = try reader.u64()
                guard dim >= 1, dim <= UInt64(SAMQLimits.maxElements) else { throw fault("dimension \(dim) is out of range") }
                shape.append(Int(dim))
            }
            let numbers = try (0..<3).map { _ in try reader.u64() }
            guard numbers.allSatisfy({ $0 <= UInt64(Int.max / 2) }) else { throw fault("offset or size is out of range") }
            let checksum = try reader.u64()
            entries.append(TensorEntry(name: name, dtype: dtype, layout: layout, codec: codec, shape: shape,
                                       gemmView: view(viewCodeValue), offset: Int(numbers[0]),
                                       storedSize: Int(numbers[1]), rawSize: Int(numbers[2]), checksum: checksum))
        }
        guard reader.remaining == 0 else { throw SAMQFormatError.table("\(reader.remaining) trailing bytes after \(count) entries") }
        return entries
    }

    static func viewCode(_ view: GemmView?) -> UInt8 {
        switch view {
        case nil: return 0
        case .linear: return 1
        case .conv: return 2
        case .convTranspose: return 3
        }
    }
    static func view(_ code: UInt8) -> GemmView? {
        switch code {
        case 1: return .linear
        case 2: return .conv
        case 3: return .convTranspose
        default: return nil
        }
    }
}
