/// A bounds-checked little-endian reader over a byte buffer.
///
/// Every read checks the remaining length first and throws the caller's error
/// (which names the file and the structure being read) instead of trapping, so
/// no parser built on it can read outside its buffer.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    /// Builds the error thrown when a read would run past the end; the argument names the field.
    let truncated: (String) -> CheckpointError

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, truncated: @escaping (String) -> CheckpointError) {
        self.bytes = bytes
        self.offset = min(max(offset, 0), bytes.count)
        self.truncated = truncated
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    mutating func skip(_ count: Int, _ what: String) throws {
        guard count >= 0, count <= remaining else { throw truncated(what) }
        offset += count
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        guard remaining >= 1 else { throw truncated(what) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16(_ what: String) throws -> UInt16 {
        guard remaining >= 2 else { throw truncated(what) }
        defer { offset += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        guard remaining >= 4 else { throw truncated(what) }
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func u64(_ what: String) throws -> UInt64 {
        guard remaining >= 8 else { throw truncated(what) }
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A view of the next `count` bytes; the length is checked before anything is touched.
    mutating func slice(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw truncated(what) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }
}

/// Decodes strict UTF-8: returns nil for invalid sequences instead of repairing
/// them, so two different byte strings never become the same name.
func strictUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
    let text = String(decoding: bytes, as: UTF8.self)
    return text.utf8.elementsEqual(bytes) ? text : nil
}

/// Overflow-checked helpers: every size derived from a file goes through these.
enum Checked {
    static func add(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : value
    }

    static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : value
    }

    /// Product of non-negative dims, nil on overflow or a negative dim.
    static func product(_ dims: [Int]) -> Int? {
        var result = 1
        for dim in dims {
            guard dim >= 0, let next = multiply(result, dim) else { return nil }
            result = next
        }
        return result
    }

    /// A UInt64 from a file as an Int, nil when it does not fit.
    static func int(_ value: UInt64) -> Int? {
        value <= UInt64(Int.max) ? Int(value) : nil
    }
}
