/// Little-endian encoding helpers for the header and table.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func append(_ data: [UInt8]) { bytes += data }
    mutating func append(_ v: UInt8) { bytes.append(v) }
    mutating func append(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func append(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func append(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
}

/// A bounds-checked cursor: every read throws instead of running off the end.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    var remaining: Int { buffer.count - position }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= remaining else { throw SAMQFormatError.table("entry runs past the end of the table") }
        defer { position += count }
        return Array(buffer[position..<position + count])
    }
    private mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let width = MemoryLayout<T>.size
        guard width <= remaining else { throw SAMQFormatError.table("entry runs past the end of the table") }
        defer { position += width }
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: T.self))
    }
    mutating func u8() throws -> UInt8 { try load(UInt8.self) }
    mutating func u16() throws -> UInt16 { try load(UInt16.self) }
    mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    mutating func u64() throws -> UInt64 { try load(UInt64.self) }
}
