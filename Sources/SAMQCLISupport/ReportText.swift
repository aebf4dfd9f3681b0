#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Numbers and columns for reports (printf-style numbers: `String(format:)` lives in the full
// Foundation, whose ICU-backed libraries cost every `samq` process about
// 6.5 MB of resident memory; the CLI links only FoundationEssentials).

/// `value` with `decimals` digits after the point, like `%.Nf`.
public func fixed(_ value: some BinaryFloatingPoint, _ decimals: Int) -> String {
    vsnprintfText("%.*f", Int32(max(0, min(decimals, 30))), Double(value))
}

/// `value` in scientific notation with `digits` after the point, like `%.Ne`.
public func scientific(_ value: some BinaryFloatingPoint, _ digits: Int = 2) -> String {
    vsnprintfText("%.*e", Int32(max(0, min(digits, 30))), Double(value))
}

/// One `%.*f`-style conversion of `value` through the C library.
private func vsnprintfText(_ format: String, _ precision: Int32, _ value: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 352)  // %f of 1e308 is 309 digits + 30 decimals
    let written = withVaList([precision, value]) { arguments in
        buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, format, arguments) }
    }
    guard written >= 0 else { return "\(value)" }
    return String(decoding: buffer.prefix(Int(min(written, 351))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension String {
    /// Right-aligned in `width` columns (never cut), for numbers in tables.
    public func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// `text` cut or space-padded to exactly `width` characters, like
/// `padding(toLength:withPad:" ",startingAt:0)`, for table columns.
public func leftAligned(_ text: String, width: Int) -> String {
    text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
}
