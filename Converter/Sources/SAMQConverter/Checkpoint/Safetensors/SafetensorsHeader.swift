import Foundation

/// One tensor of a safetensors file, validated.
struct SafetensorsEntry: Equatable {
    let name: String
    let dtype: SourceDType
    let shape: [Int]
    /// Absolute byte range in the file.
    let data: Range<Int>
}

/// The validated header of a safetensors file.
///
/// Applies safetensors' own rules: an 8-byte little-endian header length capped
/// at 100 MB, a JSON object of `name -> {dtype, shape, data_offsets}` plus an
/// optional `__metadata__`, unique names, sizes that match dtype x shape
/// (overflow-checked), and offsets that tile the data buffer exactly: no holes,
/// no overlaps, nothing past the end.
struct SafetensorsHeader {
    static let maxHeaderBytes = 100_000_000
    static let maxDims = 64

    /// In data order (which is file order).
    let entries: [SafetensorsEntry]

    static let dtypes: [String: SourceDType] = [
        "F32": .f32, "F16": .f16, "BF16": .bf16, "F64": .f64, "I64": .i64,
        "I32": .i32, "I16": .i16, "I8": .i8, "U8": .u8, "BOOL": .bool,
    ]

    init(bytes: UnsafeRawBufferPointer, path: String) throws {
        func fault(_ text: String) -> CheckpointError { .malformedSafetensors(path: path, fault: text) }
        func invalid(_ name: String, _ text: String) -> CheckpointError { .invalidTensor(path: path, tensor: name, fault: text) }

        var cursor = ByteCursor(bytes) { _ in fault("file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        let claimed = try cursor.u64("header length")
        guard claimed <= UInt64(Self.maxHeaderBytes) else {
            throw fault("header length \(claimed) exceeds the \(Self.maxHeaderBytes)-byte cap")
        }
        let headerLength = Int(claimed)
        guard headerLength <= cursor.remaining else {
            throw fault("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes, truncated?)")
        }
        let header = try cursor.slice(headerLength, "header")
        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart

        let keyRanges: [Range<Int>]
        do { keyRanges = try JSONShape.topLevelKeyRanges(header) } catch {
            throw fault("JSON nested deeper than \(JSONShape.maxDepth) levels")
        }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(header)) as? [String: Any] else {
                throw fault("header JSON is not an object")
            }
            object = parsed
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw fault("header is not valid JSON")
        }
        if keyRanges.count != object.count {
            let names = keyRanges.map { Self.decodeKey(UnsafeRawBufferPointer(rebasing: header[$0])) }
            var seen = Set<String>()
            let duplicate = names.first { !seen.insert($0).inserted } ?? "?"
            throw CheckpointError.duplicateTensorName(path: path, name: duplicate)
        }

        var entries: [SafetensorsEntry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard value is [String: Any] else { throw fault("__metadata__ is not an object") }
                continue
            }
            guard !name.isEmpty else { throw fault("a tensor has an empty name") }
            guard let info = value as? [String: Any] else { throw invalid(name, "header entry is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw invalid(name, "missing or non-string dtype") }
            guard let dtype = Self.dtypes[dtypeName] else {
                throw CheckpointError.unsupportedDType(path: path, tensor: name, dtype: dtypeName)
            }
            guard let shapeValues = info["shape"] as? [Any], shapeValues.count <= Self.maxDims else {
                throw invalid(name, "shape is missing, not an array, or has more than \(Self.maxDims) dims")
            }
            let shape = try shapeValues.map { dim -> Int in
                guard let value = Self.nonNegativeInt(dim) else { throw invalid(name, "shape holds \(dim), not a non-negative integer") }
                return value
            }
            guard let offsetValues = info["data_offsets"] as? [Any], offsetValues.count == 2,
                  let begin = Self.nonNegativeInt(offsetValues[0]), let end = Self.nonNegativeInt(offsetValues[1]) else {
                throw invalid(name, "data_offsets is not [begin, end] of non-negative integers")
            }
            guard end >= begin else { throw invalid(name, "data_offsets end \(end) is before begin \(begin)") }
            guard end <= dataSize else {
                throw invalid(name, "data_offsets [\(begin), \(end)] run past the end of the data (\(dataSize) bytes, truncated?)")
            }
            guard let count = Checked.product(shape), let size = Checked.multiply(count, dtype.itemSize) else {
                throw invalid(name, "shape \(shape) has an element count that overflows")
            }
            guard size == end - begin else {
                throw invalid(name, "\(dtypeName) \(shape) needs \(size) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
            }
            entries.append(SafetensorsEntry(name: name, dtype: dtype, shape: shape, data: (dataStart + begin)..<(dataStart + end)))
        }

        // safetensors' rule: the data buffer is tiled exactly by the tensors.
        entries.sort { ($0.data.lowerBound, $0.data.upperBound, $0.name) < ($1.data.lowerBound, $1.data.upperBound, $1.name) }
        var expected = dataStart
        for entry in entries {
            if entry.data.lowerBound > expected {
                throw invalid(entry.name, "data starts at \(entry.data.lowerBound - dataStart), leaving a hole after offset \(expected - dataStart)")
            }
            if entry.data.lowerBound < expected {
                throw invalid(entry.name, "data at offset \(entry.data.lowerBound - dataStart) overlaps the previous tensor (ends at \(expected - dataStart))")
            }
            expected = entry.data.upperBound
        }
        guard expected == bytes.count else {
            throw fault("\(bytes.count - expected) bytes after the last tensor are not described by the header")
        }
        self.entries = entries
    }

    /// A JSON integer >= 0 that fits an Int; booleans and floats are refused
    /// (Foundation would otherwise turn `true` or `1.0` into 1).
    static func nonNegativeInt(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let kind = String(cString: number.objCType)
        guard kind != "c", kind != "d", kind != "f", !(value is Decimal), let integer = value as? Int, integer >= 0 else {
            return nil
        }
        return integer
    }

    /// A raw JSON key as text, for naming a duplicate.
    static func decodeKey(_ raw: UnsafeRawBufferPointer) -> String {
        var quoted = Data([UInt8(ascii: "\"")])
        quoted.append(contentsOf: raw)
        quoted.append(UInt8(ascii: "\""))
        if let text = try? JSONSerialization.jsonObject(with: quoted, options: [.fragmentsAllowed]) as? String { return text }
        return String(decoding: raw, as: UTF8.self)
    }
}
