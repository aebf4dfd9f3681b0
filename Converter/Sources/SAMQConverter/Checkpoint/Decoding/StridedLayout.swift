/// Where a tensor's elements sit in its storage: torch's (offset, size, stride)
/// view, in elements. Safetensors tensors are the contiguous special case.
struct StridedLayout: Equatable {
    let offset: Int
    let shape: [Int]
    let strides: [Int]

    static func contiguous(shape: [Int]) -> StridedLayout {
        StridedLayout(offset: 0, shape: shape, strides: contiguousStrides(for: shape))
    }

    static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running = running &* Swift.max(shape[axis], 1)  // only used after shape validation
        }
        return strides
    }

    /// True when logical C order is one run of storage: strides of dims longer
    /// than 1 match the C-contiguous ones (size-1 dims may carry any stride).
    var isContiguous: Bool {
        let expected = Self.contiguousStrides(for: shape)
        return shape.indices.allSatisfy { shape[$0] <= 1 || strides[$0] == expected[$0] }
    }

    /// Element count, or nil on a negative dim or overflow.
    var elementCount: Int? { Checked.product(shape) }

    /// One past the highest storage element the view touches (`offset` for an
    /// empty view), or nil on negative values or overflow.
    var storageExtent: Int? {
        guard offset >= 0, let count = elementCount else { return nil }
        guard count > 0 else { return offset }
        var last = offset
        for (size, stride) in zip(shape, strides) {
            guard stride >= 0, let step = Checked.multiply(size - 1, stride), let next = Checked.add(last, step) else {
                return nil
            }
            last = next
        }
        return Checked.add(last, 1)
    }
}
