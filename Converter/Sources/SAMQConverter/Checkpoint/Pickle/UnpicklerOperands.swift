/// Operand readers of the unpickler: lengths are checked against the bytes
/// actually left before anything is allocated or decoded.
extension Unpickler {
    mutating func length64(_ what: String) throws -> Int {
        let length = try cursor.u64("\(what) length")
        guard length <= UInt64(cursor.remaining) else {
            throw malformed("\(what) claims \(length) bytes but only \(cursor.remaining) remain")
        }
        return Int(length)
    }

    /// Reads a string of a claimed length: the claim is checked against the
    /// bytes actually left before anything is allocated.
    mutating func readString(length: Int, _ what: String) throws -> String {
        guard length <= cursor.remaining else {
            throw malformed("\(what) claims \(length) bytes but only \(cursor.remaining) remain")
        }
        let bytes = try cursor.slice(length, what)
        guard let text = strictUTF8(bytes) else { throw malformed("\(what) is not valid UTF-8") }
        return text
    }

    mutating func skipBytes(length: Int, _ what: String) throws -> Int {
        guard length <= cursor.remaining else {
            throw malformed("\(what) claims \(length) bytes but only \(cursor.remaining) remain")
        }
        try cursor.skip(length, what)
        return length
    }

    /// A newline-terminated GLOBAL operand, bounded in length.
    mutating func readGlobalLine(_ what: String) throws -> String {
        let start = cursor.offset
        var length = 0
        while true {
            let byte = try cursor.u8(what)
            if byte == UInt8(ascii: "\n") { break }
            length += 1
            guard length <= limits.maxGlobalLine else { throw limit("\(what) longer than \(limits.maxGlobalLine) bytes") }
        }
        let bytes = UnsafeRawBufferPointer(rebasing: cursor.bytes[start..<(start + length)])
        guard let text = strictUTF8(bytes) else { throw malformed("\(what) is not valid UTF-8") }
        return text
    }

    /// LONG1: a little-endian two's complement integer of n <= 8 bytes.
    mutating func readLong1() throws -> Int {
        let count = Int(try cursor.u8("LONG1 length"))
        guard count <= 8 else { throw malformed("LONG1 integer of \(count) bytes does not fit in 64 bits") }
        let bytes = try cursor.slice(count, "LONG1")
        guard count > 0 else { return 0 }
        var value: UInt64 = 0
        for (shift, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        if count < 8, bytes[count - 1] & 0x80 != 0 { value |= ~0 << (8 * UInt64(count)) }  // sign-extend
        return Int(Int64(bitPattern: value))
    }
}
