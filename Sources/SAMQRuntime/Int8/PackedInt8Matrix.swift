import CKernels
import SAMQFormat

/// An int8 GEMM weight in the kernels' packed panel layout (`PackedInt8Layout`):
/// `n` output channels × `k` inputs, per-channel scales and column sums.
///
/// The payload is either borrowed from a mapped `.samq` file (raw codec: no
/// copy, the file is retained so the mapping outlives the layer) or owned
/// (zstd tensors, or weights quantized at load from f32).
public final class PackedInt8Matrix: @unchecked Sendable {
    public let name: String
    public let layout: PackedInt8Layout
    let payload: UnsafeRawPointer
    private let owned: UnsafeMutableRawPointer?
    private let owner: AnyObject?

    public var n: Int { layout.n }
    public var k: Int { layout.k }

    private init(name: String, layout: PackedInt8Layout, payload: UnsafeRawPointer,
                 owned: UnsafeMutableRawPointer?, owner: AnyObject?) {
        self.name = name
        self.layout = layout
        self.payload = payload
        self.owned = owned
        self.owner = owner
    }

    deinit { owned?.deallocate() }

    /// Takes ownership of `bytes`, a payload already packed in `layout`
    /// (deallocated with the matrix).
    convenience init(adopting bytes: UnsafeMutableRawPointer, layout: PackedInt8Layout, name: String) {
        self.init(name: name, layout: layout, payload: UnsafeRawPointer(bytes), owned: bytes, owner: nil)
    }

    /// Copies a packed payload (e.g. one decompressed into a reused scratch).
    public convenience init(copying bytes: UnsafeRawBufferPointer, n: Int, k: Int, name: String)
        throws(Int8RuntimeError) {
        let layout = try Self.checkedLayout(n: n, k: k, byteCount: bytes.count, name: name)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: layout.totalBytes, alignment: 64)
        if let base = bytes.baseAddress { copy.copyMemory(from: base, byteCount: layout.totalBytes) }
        self.init(name: name, layout: layout, payload: UnsafeRawPointer(copy), owned: copy, owner: nil)
    }

    /// Uses `bytes` in place. `owner` must keep them alive and unchanged for
    /// the matrix's lifetime (a `SAMQFile` for its mapping, an arena, ...).
    public convenience init(borrowing bytes: UnsafeRawBufferPointer, n: Int, k: Int, name: String,
                            owner: AnyObject) throws(Int8RuntimeError) {
        let layout = try Self.checkedLayout(n: n, k: k, byteCount: bytes.count, name: name)
        guard let base = bytes.baseAddress, Int(bitPattern: base) % 4 == 0 else {
            throw .invalidPackedWeight(name: name, fault: "payload is not 4-byte aligned")
        }
        self.init(name: name, layout: layout, payload: base, owned: nil, owner: owner)
    }

    /// Quantizes an f32 `[n][k]` matrix (row = output channel) exactly as the
    /// converter does: symmetric, one scale per row, round half to even.
    /// Used for f32 checkpoints, the attention's per-call operands in tests,
    /// and the reference comparisons.
    public convenience init(quantizing weights: [Float], n: Int, k: Int, name: String) throws(Int8RuntimeError) {
        guard n > 0, k > 0 else { throw .invalidPackedWeight(name: name, fault: "empty matrix \(n)×\(k)") }
        guard weights.count == n * k else { throw .shapeMismatch(what: name, expected: n * k, actual: weights.count) }
        let layout = PackedInt8Layout(n: n, k: k)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: layout.totalBytes, alignment: 64)
        var q = [Int8](repeating: 0, count: n * k)
        var scales = [Float](repeating: 0, count: n)
        // The row quantizer's rule (amax/127, round half even, ±127) is the
        // converter's weight rule, and it is bit-identical on every ISA.
        weights.withUnsafeBufferPointer { w in
            samq_quantize_rows(SAMQ_ISA_SCALAR, w.baseAddress, n, k, k, &q, k, &scales)
        }
        samq_pack_weights_i8(q, scales, n, k, copy)
        self.init(name: name, layout: layout, payload: UnsafeRawPointer(copy), owned: copy, owner: nil)
    }

    /// The same payload as `other`, which it keeps alive.
    convenience init(sharing other: PackedInt8Matrix) {
        self.init(name: other.name, layout: other.layout, payload: other.payload, owned: nil, owner: other)
    }

    /// The tensor `name` of a `.samq` file, which must be stored packed.
    /// Raw-codec tensors are borrowed from the map after their checksum is
    /// verified; zstd tensors are decompressed into an owned copy, and their
    /// mapped pages are handed back (they are not needed again).
    public convenience init(file: SAMQFile, name: String) throws {
        let entry = try file.entry(named: name)
        guard let layout = entry.packedLayout else {
            throw Int8RuntimeError.invalidPackedWeight(name: name, fault: "stored as \(entry.layout) \(entry.dtype), not packed int8")
        }
        var scratch: [UInt8] = []
        let codec = entry.codec
        let borrowed: PackedInt8Matrix = try file.withRawBytes(of: entry, scratch: &scratch) { raw in
            switch codec {
            case .raw:
                return try PackedInt8Matrix(borrowing: raw, n: layout.n, k: layout.k, name: name, owner: file)
            case .zstd:
                return try PackedInt8Matrix(copying: raw, n: layout.n, k: layout.k, name: name)
            }
        }
        if codec == .zstd { file.release(entry) }
        self.init(sharing: borrowed)
    }

    /// Per-channel scales (`n` of them; padding columns excluded).
    public var scales: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: (payload + layout.scalesOffset).assumingMemoryBound(to: Float.self), count: n)
    }

    /// The int8 value of weight `[column][kIndex]`.
    public func quantizedValue(column: Int, k kIndex: Int) -> Int8 {
        payload.load(fromByteOffset: layout.offset(column: column, k: kIndex), as: Int8.self)
    }

    /// The dequantized `[n][k]` matrix (for references and tests).
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: n * k)
        let s = scales
        for c in 0..<n {
            for j in 0..<k { out[c * k + j] = Float(quantizedValue(column: c, k: j)) * s[c] }
        }
        return out
    }

    private static func checkedLayout(n: Int, k: Int, byteCount: Int, name: String)
        throws(Int8RuntimeError) -> PackedInt8Layout {
        guard let total = PackedInt8Layout.checkedTotalBytes(n: n, k: k) else {
            throw .invalidPackedWeight(name: name, fault: "invalid geometry \(n)×\(k)")
        }
        guard byteCount == total else {
            throw .invalidPackedWeight(name: name, fault: "payload has \(byteCount) bytes, \(n)×\(k) packed needs \(total)")
        }
        return PackedInt8Layout(n: n, k: k)
    }
}
