#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A NumPy `.npy` array held as float32 values in C order.
///
/// Reads format versions 1.0, 2.0 and 3.0 with dtypes `<f4` (`>f4`), `<f8` (`>f8`),
/// `|u1` and `|b1` (converted to Float); writes version 1.0 `<f4`, atomically.
/// Every header field and size is validated; a bad file gets a `NumPyError`.
public struct NumPyArray: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    /// `values.count` must equal the product of `shape` (1 for a 0-d array).
    public init(shape: [Int], values: [Float]) throws {
        let count = try NumPyArray.elementCount(shape)
        guard count == values.count else { throw NumPyError.valueCountMismatch(shape: shape, count: values.count) }
        self.shape = shape
        self.values = values
    }

    /// Reads a `.npy` file of a supported dtype, converting to Float. An array
    /// of more than `maxDataBytes` is refused before its data is read.
    public static func read(path: String, maxDataBytes: Int = Int.max) throws -> NumPyArray {
        let file = try NumPyFile(bytes: NumPyIO.readAll(path: path, maxDataBytes: maxDataBytes), path: path)
        return try NumPyArray(shape: file.shape, values: file.floatValues())
    }

    /// Parses `.npy` bytes (`path` only names the source in errors).
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> NumPyArray {
        let file = try NumPyFile(bytes: bytes, path: path)
        return try NumPyArray(shape: file.shape, values: file.floatValues())
    }

    /// Reads a `|u1` or `|b1` file as raw bytes (for masks).
    public static func readUInt8(path: String) throws -> (shape: [Int], values: [UInt8]) {
        let file = try NumPyFile(bytes: NumPyIO.readAll(path: path), path: path)
        return (file.shape, try file.byteValues())
    }

    /// The file contents: a version 1.0 header (version 2.0 if the header would not fit) and `<f4` data.
    public func encoded() throws -> [UInt8] {
        var out = try preamble()
        out.reserveCapacity(out.count + values.count * 4)
        for value in values {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Magic, version, header length and the padded header: everything before the data.
    private func preamble() throws -> [UInt8] {
        let count = try NumPyArray.elementCount(shape)
        guard count == values.count else { throw NumPyError.valueCountMismatch(shape: shape, count: values.count) }
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        // Pad with spaces and a newline so the data starts on a 64-byte boundary.
        var prefixLength = 10
        if header.count + 1 + 10 > 65535 { prefixLength = 12 }
        let padding = (64 - (prefixLength + header.count + 1) % 64) % 64
        header += [UInt8](repeating: 0x20, count: padding) + [0x0A]
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8)
        if prefixLength == 10 {
            out += [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
        } else {
            let n = UInt32(header.count)
            out += [2, 0, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
        }
        return out + header
    }

    /// Writes a version 1.0 `<f4` C-order file atomically (temporary file, fsync, rename),
    /// straight from `values`: a second copy of a 4 MB embedding would be the
    /// peak of a small-model `samq encode`.
    public func write(to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(try preamble())
        if 1.littleEndian == 1 {
            try values.withUnsafeBytes { try file.write($0) }
        } else {
            var chunk = [UInt8]()
            for start in stride(from: 0, to: values.count, by: 16_384) {
                chunk.removeAll(keepingCapacity: true)
                for value in values[start..<min(values.count, start + 16_384)] {
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { chunk.append(contentsOf: $0) }
                }
                try file.write(chunk)
            }
        }
        try file.commit()
    }

    static func elementCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { throw NumPyError.invalidShape(shape) }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw NumPyError.invalidShape(shape) }
            count = product
        }
        return count
    }
}

public enum NumPyError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case notNumPy(path: String)
    case unsupportedVersion(path: String, major: Int, minor: Int)
    case truncatedHeader(path: String)
    case malformedHeader(path: String, reason: String)
    case unsupportedDType(path: String, descr: String)
    case fortranOrder(path: String)
    case invalidShape([Int])
    case dataSizeMismatch(path: String, expected: Int, available: Int)
    case valueCountMismatch(shape: [Int], count: Int)
    case notBytes(path: String, descr: String)
    case tooLarge(path: String, shape: [Int], bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
        case let .notNumPy(path): return "\(path) is not a NumPy .npy file (bad magic)"
        case let .unsupportedVersion(path, major, minor): return "\(path): unsupported .npy format version \(major).\(minor)"
        case let .truncatedHeader(path): return "\(path): file ends inside the .npy header"
        case let .malformedHeader(path, reason): return "\(path): malformed .npy header: \(reason)"
        case let .unsupportedDType(path, descr):
            return "\(path): unsupported dtype '\(descr)' (supported: <f4, >f4, <f8, >f8, |u1, |b1)"
        case let .fortranOrder(path): return "\(path): Fortran-order arrays are not supported (save with C order)"
        case let .invalidShape(shape): return "invalid shape \(shape): dimensions must be >= 0 and their product must fit"
        case let .dataSizeMismatch(path, expected, available):
            return "\(path): the shape needs \(expected) data bytes but the file has \(available)"
        case let .valueCountMismatch(shape, count): return "shape \(shape) does not hold \(count) values"
        case let .notBytes(path, descr): return "\(path): dtype '\(descr)' is not a byte type (|u1 or |b1)"
        case let .tooLarge(path, shape, bytes, limit):
            return "\(path): an array of shape \(shape) (\(bytes) bytes) is larger than the \(limit) bytes expected here"
        }
    }
}

/// A parsed `.npy` file: validated header plus the raw data bytes.
struct NumPyFile {
    enum DType: String {
        case float32LE = "<f4", float32BE = ">f4", float64LE = "<f8", float64BE = ">f8", uint8 = "|u1", bool = "|b1"
        var itemSize: Int {
            switch self {
            case .float32LE, .float32BE: return 4
            case .float64LE, .float64BE: return 8
            case .uint8, .bool: return 1
            }
        }
    }

    let path: String
    let dtype: DType
    let shape: [Int]
    let count: Int
    let data: ArraySlice<UInt8>

    init(bytes: [UInt8], path: String) throws {
        self.path = path
        let header = try Self.header(of: bytes, path: path)
        let available = bytes.count - header.dataStart
        guard header.dataBytes <= available else {
            throw NumPyError.dataSizeMismatch(path: path, expected: header.dataBytes, available: available)
        }
        dtype = header.dtype
        shape = header.shape
        count = header.count
        data = bytes[header.dataStart..<(header.dataStart + header.dataBytes)]
    }

    /// The fixed part before the header dictionary (magic, version, length):
    /// where the dictionary starts and how long it is.
    static func preamble(of bytes: [UInt8], path: String) throws -> (start: Int, length: Int) {
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 8, bytes.starts(with: magic) else { throw NumPyError.notNumPy(path: path) }
        let major = Int(bytes[6]), minor = Int(bytes[7])
        switch (major, minor) {
        case (1, 0):
            guard bytes.count >= 10 else { throw NumPyError.truncatedHeader(path: path) }
            return (10, Int(bytes[8]) | Int(bytes[9]) << 8)
        case (2, 0), (3, 0):
            guard bytes.count >= 12 else { throw NumPyError.truncatedHeader(path: path) }
            return (12, Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24)
        default:
            throw NumPyError.unsupportedVersion(path: path, major: major, minor: minor)
        }
    }

    struct Header {
        let dtype: DType
        let shape: [Int]
        let count: Int
        let dataStart: Int
        let dataBytes: Int
    }

    /// The validated header of `bytes`, which must hold at least the whole
    /// header (the data may be missing): so a reader can refuse a file, or
    /// stop reading at the array's end, before it reads the data.
    static func header(of bytes: [UInt8], path: String) throws -> Header {
        let (headerStart, headerLength) = try preamble(of: bytes, path: path)
        guard headerLength <= bytes.count - headerStart else { throw NumPyError.truncatedHeader(path: path) }
        let headerBytes = bytes[headerStart..<(headerStart + headerLength)]
        // Versions 1 and 2 use latin-1; every valid header is ASCII anyway.
        guard headerBytes.allSatisfy({ $0 < 0x80 }) else {
            throw NumPyError.malformedHeader(path: path, reason: "non-ASCII bytes in the header")
        }
        var parser = NumPyHeaderParser(text: String(decoding: headerBytes, as: UTF8.self), path: path)
        let fields = try parser.parseDictionary()
        guard case let .string(descr)? = fields["descr"] else {
            throw NumPyError.malformedHeader(path: path, reason: "missing or non-string 'descr'")
        }
        guard case let .bool(fortran)? = fields["fortran_order"] else {
            throw NumPyError.malformedHeader(path: path, reason: "missing or non-boolean 'fortran_order'")
        }
        guard case let .tuple(shape)? = fields["shape"] else {
            throw NumPyError.malformedHeader(path: path, reason: "missing 'shape' tuple")
        }
        guard let dtype = DType(rawValue: descr == "<u1" || descr == "u1" ? "|u1" : (descr == "<b1" ? "|b1" : descr)) else {
            throw NumPyError.unsupportedDType(path: path, descr: descr)
        }
        guard !fortran else { throw NumPyError.fortranOrder(path: path) }
        let count = try NumPyArray.elementCount(shape)
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow else { throw NumPyError.invalidShape(shape) }
        return Header(dtype: dtype, shape: shape, count: count, dataStart: headerStart + headerLength, dataBytes: byteCount)
    }

    func floatValues() throws -> [Float] {
        data.withUnsafeBytes { raw -> [Float] in
            switch dtype {
            case .uint8: return raw.map { Float($0) }
            case .bool: return raw.map { $0 != 0 ? 1 : 0 }
            case .float32LE, .float32BE:
                let big = dtype == .float32BE
                return (0..<count).map { i in
                    let bits = raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                    return Float(bitPattern: big ? UInt32(bigEndian: bits) : UInt32(littleEndian: bits))
                }
            case .float64LE, .float64BE:
                let big = dtype == .float64BE
                return (0..<count).map { i in
                    let bits = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    return Float(Double(bitPattern: big ? UInt64(bigEndian: bits) : UInt64(littleEndian: bits)))
                }
            }
        }
    }

    func byteValues() throws -> [UInt8] {
        switch dtype {
        case .uint8: return Array(data)
        case .bool: return data.map { $0 != 0 ? 1 : 0 }
        default: throw NumPyError.notBytes(path: path, descr: dtype.rawValue)
        }
    }
}

/// Parses the Python-literal dictionary of a `.npy` header:
/// string keys; values are strings, True/False, integers or tuples of integers.
struct NumPyHeaderParser {
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case int(Int)
        case tuple([Int])
    }

    private let chars: [Character]
    private let path: String
    private var pos = 0

    init(text: String, path: String) {
        self.chars = Array(text)
        self.path = path
    }

    private func fail(_ reason: String) -> NumPyError { .malformedHeader(path: path, reason: reason) }

    private mutating func skipSpace() {
        while pos < chars.count, chars[pos].isWhitespace { pos += 1 }
    }

    private mutating func expect(_ c: Character) throws {
        skipSpace()
        guard pos < chars.count, chars[pos] == c else { throw fail("expected '\(c)' at offset \(pos)") }
        pos += 1
    }

    private mutating func peek() -> Character? {
        skipSpace()
        return pos < chars.count ? chars[pos] : nil
    }

    mutating func parseDictionary() throws -> [String: Value] {
        try expect("{")
        var result: [String: Value] = [:]
        while true {
            if peek() == "}" { pos += 1; break }
            let key = try parseString()
            try expect(":")
            let value = try parseValue()
            guard result[key] == nil else { throw fail("duplicate key '\(key)'") }
            result[key] = value
            if peek() == "," { pos += 1; continue }
            try expect("}")
            break
        }
        skipSpace()
        guard pos == chars.count else { throw fail("unexpected text after the dictionary") }
        return result
    }

    private mutating func parseString() throws -> String {
        guard let quote = peek(), quote == "'" || quote == "\"" else { throw fail("expected a quoted string at offset \(pos)") }
        pos += 1
        var text = ""
        while pos < chars.count, chars[pos] != quote {
            guard chars[pos] != "\\" else { throw fail("escape sequences are not supported") }
            text.append(chars[pos])
            pos += 1
        }
        guard pos < chars.count else { throw fail("unterminated string") }
        pos += 1
        return text
    }

    private mutating func parseInt() throws -> Int {
        skipSpace()
        var digits = ""
        while pos < chars.count, chars[pos].isASCII, chars[pos].isNumber || (digits.isEmpty && chars[pos] == "-") {
            digits.append(chars[pos])
            pos += 1
        }
        // Python 2 era headers may write long integers as 3L.
        if pos < chars.count, chars[pos] == "L" { pos += 1 }
        guard let value = Int(digits) else { throw fail("expected an integer at offset \(pos)") }
        return value
    }

    private mutating func parseValue() throws -> Value {
        guard let c = peek() else { throw fail("unexpected end of header") }
        switch c {
        case "'", "\"": return .string(try parseString())
        case "(":
            pos += 1
            var items: [Int] = []
            if peek() == ")" { pos += 1; return .tuple(items) }
            while true {
                items.append(try parseInt())
                if peek() == "," {
                    pos += 1
                    if peek() == ")" { pos += 1; break }
                    continue
                }
                try expect(")")
                break
            }
            return .tuple(items)
        case "T", "F":
            for word in ["True", "False"] where chars[pos...].starts(with: word) {
                pos += word.count
                return .bool(word == "True")
            }
            throw fail("unknown literal at offset \(pos)")
        case "[":
            throw fail("structured dtypes are not supported")
        default:
            return .int(try parseInt())
        }
    }
}

/// File helpers for `.npy` (kept local so the format module stays self-contained).
enum NumPyIO {
    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The header, then the bytes up to the array's end and no further: a
    /// file that is no `.npy`, or whose array exceeds `maxDataBytes`, is
    /// refused before its data is read, and trailing bytes (which the format
    /// ignores) are never read. A 1 GB file of junk used to be read whole
    /// into memory before "bad magic".
    static func readAll(path: String, maxDataBytes: Int = Int.max) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NumPyError.cannotRead(path: path, reason: errnoText(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw NumPyError.cannotRead(path: path, reason: errnoText(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw NumPyError.cannotRead(path: path, reason: "not a regular file") }
        let size = Int(info.st_size)
        // Headers are a few hundred bytes; 64 KB holds any numpy writes, and a
        // longer one is read in full below before it is parsed.
        var result = try readBytes(fd, upTo: min(size, 1 << 16), path: path)
        let preamble = try NumPyFile.preamble(of: result, path: path)
        let headerEnd = preamble.start + preamble.length
        if headerEnd > result.count {
            // Capped, so a bogus length cannot ask for gigabytes.
            guard headerEnd <= min(size, 16 << 20) else { throw NumPyError.truncatedHeader(path: path) }
            result += try readBytes(fd, upTo: headerEnd - result.count, path: path)
        }
        let header = try NumPyFile.header(of: result, path: path)
        guard header.dataBytes <= maxDataBytes else {
            throw NumPyError.tooLarge(path: path, shape: header.shape, bytes: header.dataBytes, limit: maxDataBytes)
        }
        let end = min(size, header.dataStart + header.dataBytes)
        if end > result.count {
            result += try readBytes(fd, upTo: end - result.count, path: path)
        } else {
            result.removeLast(result.count - end)
        }
        return result
    }

    /// Up to `count` more bytes (fewer only at the end of the file).
    private static func readBytes(_ fd: Int32, upTo count: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw NumPyError.cannotRead(path: path, reason: errnoText(errno))
            }
            if n == 0 { break }
            done += n
        }
        bytes.removeLast(bytes.count - done)
        return bytes
    }
}
