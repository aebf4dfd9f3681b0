/// A lexical pre-pass over a JSON header, run before Foundation sees it.
///
/// JSONSerialization recurses per nesting level and hides duplicate keys (the
/// last one silently wins). This scan bounds the nesting depth first, and
/// lists the top-level object keys in order so duplicates can be named.
/// It does not validate JSON; JSONSerialization does that afterwards.
enum JSONShape {
    /// Maximum nesting of objects/arrays; a safetensors header needs 3.
    static let maxDepth = 32

    struct TooDeep: Error {}

    /// Byte ranges (without the quotes) of the keys of the top-level object, in order.
    static func topLevelKeyRanges(_ bytes: UnsafeRawBufferPointer) throws -> [Range<Int>] {
        var keys: [Range<Int>] = []
        var depth = 0
        var expectingKey = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let start = index + 1
                index = start
                // Skip to the closing quote, stepping over escaped characters.
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if depth == 1, expectingKey, index <= bytes.count { keys.append(start..<min(index, bytes.count)) }
                expectingKey = false
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                guard depth <= maxDepth else { throw TooDeep() }
                expectingKey = byte == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                expectingKey = false
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            default:
                break
            }
            index += 1
        }
        return keys
    }
}
