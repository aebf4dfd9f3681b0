/// An uncompressed run-length encoding of a binary mask, in the layout the
/// official code (`mask_to_rle_pytorch`) and pycocotools use: pixels in
/// column-major (Fortran) order, alternating runs starting with a run of 0s
/// (which is empty when the first pixel is set).
///
/// The generator holds every mask this way: a full-resolution bitmap exists
/// only while one mask is being scored.
public struct MaskRLE: Equatable, Hashable, Sendable {
    public let height: Int
    public let width: Int
    public let counts: [Int]

    /// Validates `counts`: non-negative and summing to `height × width`.
    public init(height: Int, width: Int, counts: [Int]) throws(EverythingError) {
        guard height >= 0, width >= 0 else { throw .invalidRLE("negative size \(height)×\(width)") }
        var total = 0
        for count in counts {
            guard count >= 0 else { throw .invalidRLE("negative run \(count)") }
            total += count
        }
        guard total == height * width else {
            throw .invalidRLE("runs sum to \(total), the size \(height)×\(width) needs \(height * width)")
        }
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// Encodes a row-major `height × width` bitmap.
    public init(mask: [Bool], height: Int, width: Int) throws(EverythingError) {
        guard height >= 0, width >= 0, mask.count == height * width else {
            throw .invalidRLE("a \(height)×\(width) mask needs \(height * width) pixels, got \(mask.count)")
        }
        self.init(validMask: mask, height: height, width: width)
    }

    /// `init(mask:height:width:)` for a bitmap known to have `height × width` pixels.
    init(validMask mask: [Bool], height: Int, width: Int) {
        self = mask.withUnsafeBufferPointer {
            MaskRLE(cropMask: $0, cropWidth: width, cropHeight: height,
                    placedAt: CropBox(x0: 0, y0: 0, x1: width, y1: height, layer: 0),
                    imageWidth: width, imageHeight: height)
        }
    }

    /// Encodes a row-major crop bitmap as a mask of the whole image, zero outside
    /// the crop: `uncrop_masks` (zero padding) then `mask_to_rle_pytorch`, without
    /// ever building the padded bitmap.
    init(cropMask mask: UnsafeBufferPointer<Bool>, cropWidth: Int, cropHeight: Int, placedAt crop: CropBox,
         imageWidth: Int, imageHeight: Int) {
        precondition(mask.count == cropWidth * cropHeight && crop.width == cropWidth && crop.height == cropHeight,
                     "internal: crop bitmap and crop box disagree")
        var builder = RunBuilder()
        builder.append(false, count: crop.x0 * imageHeight)
        for x in 0..<cropWidth {
            builder.append(false, count: crop.y0)
            var index = x
            for _ in 0..<cropHeight {
                builder.append(mask[index])
                index += cropWidth
            }
            builder.append(false, count: imageHeight - crop.y1)
        }
        builder.append(false, count: (imageWidth - crop.x1) * imageHeight)
        height = imageHeight
        width = imageWidth
        counts = builder.finish()
    }

    /// The number of set pixels (`area_from_rle`).
    public var area: Int {
        stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + counts[$1] }
    }

    /// Decodes to a row-major `height × width` bitmap (`rle_to_mask`).
    public func decode() -> [Bool] {
        var mask = [Bool](repeating: false, count: height * width)
        forEachRun { start, length in
            for i in start..<(start + length) {
                // column-major index i = x * height + y
                mask[(i % height) * width + i / height] = true
            }
        }
        return mask
    }

    /// Calls `body(start, length)` for every run of set pixels, in column-major indices.
    public func forEachRun(_ body: (_ start: Int, _ length: Int) -> Void) {
        var position = 0
        for (i, count) in counts.enumerated() {
            if i % 2 == 1 && count > 0 { body(position, count) }
            position += count
        }
    }

    /// The mask's box, computed from the runs (same result as `batched_mask_to_box`).
    public var boundingBox: MaskBox {
        guard height > 0 else { return .empty }
        var minX = Int.max, minY = Int.max, maxX = -1, maxY = -1
        forEachRun { start, length in
            let end = start + length - 1
            let firstX = start / height, lastX = end / height
            minX = min(minX, firstX)
            maxX = max(maxX, lastX)
            // A run crossing a column boundary ends one column at the bottom row
            // and starts the next at the top row, so it spans every row.
            if lastX > firstX {
                minY = 0
                maxY = height - 1
            } else {
                minY = min(minY, start % height)
                maxY = max(maxY, end % height)
            }
        }
        return maxX < 0 ? .empty : MaskBox(x0: minX, y0: minY, x1: maxX, y1: maxY)
    }
}

/// Accumulates alternating runs, starting with the 0-run.
struct RunBuilder {
    private var counts: [Int] = [0]
    private var current = false

    mutating func append(_ value: Bool, count: Int = 1) {
        guard count > 0 else { return }
        if value != current {
            counts.append(0)
            current = value
        }
        counts[counts.count - 1] += count
    }

    func finish() -> [Int] { counts }
}
