/// Converts stored elements to Float, gathering a strided view into C order.
enum ElementConversion {
    /// Reads the elements of `layout` from `storage` (little-endian `dtype`
    /// elements) as Float in logical C order. Returns nil if the view reaches
    /// outside `storage`; callers validate first, this is the last line of defence.
    static func floats(from storage: UnsafeRawBufferPointer, dtype: SourceDType, layout: StridedLayout) -> [Float]? {
        guard let count = layout.elementCount, let extent = layout.storageExtent,
              let bytesNeeded = Checked.multiply(extent, dtype.itemSize), bytesNeeded <= storage.count else {
            return nil
        }
        guard count > 0, let base = storage.baseAddress else { return [] }
        let size = dtype.itemSize
        return [Float](unsafeUninitializedCapacity: count) { output, initialized in
            // Hot loops: every element index below is < extent, checked above.
            if layout.isContiguous {
                let start = base + layout.offset * size
                for index in 0..<count { output[index] = element(start, index * size, dtype) }
            } else {
                // Size-1 dims never step, so their (possibly huge) strides are
                // zeroed; every other stride * size is then bounded by the
                // validated extent and the position arithmetic cannot overflow.
                let strides = zip(layout.shape, layout.strides).map { $0 <= 1 ? 0 : $1 }
                var coordinate = [Int](repeating: 0, count: layout.shape.count)
                var position = layout.offset
                for index in 0..<count {
                    output[index] = element(base, position * size, dtype)
                    // Odometer step over the dims, last dim fastest.
                    var axis = layout.shape.count - 1
                    while axis >= 0 {
                        coordinate[axis] += 1
                        position += strides[axis]
                        if coordinate[axis] < layout.shape[axis] { break }
                        position -= strides[axis] * layout.shape[axis]
                        coordinate[axis] = 0
                        axis -= 1
                    }
                }
            }
            initialized = count
        }
    }

    @inline(__always)
    private static func element(_ base: UnsafeRawPointer, _ byteOffset: Int, _ dtype: SourceDType) -> Float {
        switch dtype {
        case .f32: return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: byteOffset, as: UInt32.self)))
        case .f16: return halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)))
        case .bf16: return Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self))) << 16)
        case .f64: return Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: byteOffset, as: UInt64.self))))
        case .i64: return Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: byteOffset, as: Int64.self)))
        case .i32: return Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: byteOffset, as: Int32.self)))
        case .i16: return Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: byteOffset, as: Int16.self)))
        case .i8: return Float(base.load(fromByteOffset: byteOffset, as: Int8.self))
        case .u8: return Float(base.load(fromByteOffset: byteOffset, as: UInt8.self))
        case .bool: return base.load(fromByteOffset: byteOffset, as: UInt8.self) != 0 ? 1 : 0
        }
    }

    /// IEEE binary16 to binary32, exact for every input (subnormals, inf, NaN payloads).
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        var mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            guard mantissa != 0 else { return Float(bitPattern: sign) }
            // Subnormal half: normalise into a float exponent.
            var shift: UInt32 = 0
            while mantissa & 0x400 == 0 { mantissa <<= 1; shift += 1 }
            mantissa &= 0x3FF
            return Float(bitPattern: sign | ((127 - 15 + 1 - shift) << 23) | (mantissa << 13))
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
        }
    }
}
