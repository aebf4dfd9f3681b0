/// pycocotools' compressed RLE string (`rleToString` / `rleFrString` in
/// maskApi.c), the `counts` field of COCO and SA-1B annotations.
///
/// Each count from the third on is stored as the difference to the count two
/// places before it (runs of the same value tend to have similar lengths), then
/// written as little-endian groups of 5 bits, each a character `48 + bits`, with
/// bit 0x20 meaning "more groups follow" and bit 0x10 of the last group the sign.
public enum COCOCompressedRLE {
    /// The compressed string for `counts`.
    public static func encode(_ counts: [Int]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(counts.count * 2)
        for (i, count) in counts.enumerated() {
            // maskApi.c subtracts two places back only for i > 2 (not i >= 2).
            var x = i > 2 ? count - counts[i - 2] : count
            var more = true
            while more {
                var c = x & 0x1f
                x >>= 5   // arithmetic shift, as C's `long >>=` on the platforms pycocotools runs on
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                bytes.append(UInt8(c + 48))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes a compressed string back to counts; rejects characters outside the
    /// alphabet, truncated groups, and negative counts.
    public static func decode(_ string: String) throws(EverythingError) -> [Int] {
        var counts = [Int]()
        var x = 0, shift = 0, more = false
        for byte in string.utf8 {
            guard byte >= 48, byte < 48 + 64 else { throw .invalidRLE("invalid character \(byte) in compressed RLE string") }
            guard shift < 60 else { throw .invalidRLE("overlong group in compressed RLE string") }
            let c = Int(byte) - 48
            x |= (c & 0x1f) << shift
            shift += 5
            more = (c & 0x20) != 0
            guard !more else { continue }
            if (c & 0x10) != 0 { x |= -1 << shift }   // sign-extend the last group
            if counts.count > 2 { x += counts[counts.count - 2] }
            guard x >= 0 else { throw .invalidRLE("negative run in compressed RLE string") }
            counts.append(x)
            x = 0
            shift = 0
        }
        guard !more else { throw .invalidRLE("truncated compressed RLE string") }
        return counts
    }
}

extension MaskRLE {
    /// The COCO compressed string of this mask's counts.
    public var cocoString: String { COCOCompressedRLE.encode(counts) }

    /// A mask from a COCO `{size: [h, w], counts: STRING}` pair.
    public init(height: Int, width: Int, cocoString: String) throws(EverythingError) {
        try self.init(height: height, width: width, counts: COCOCompressedRLE.decode(cocoString))
    }
}
