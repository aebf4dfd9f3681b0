import CKernels

/// A dense f32 tensor: a shape and its values in C order.
///
/// Activations inside the runtime are channels-last (`[tokens][channels]`),
/// which turns LayerNorm2d into a LayerNorm over the last axis and 1×1 convs
/// into plain linears. Public entry and exit points use PyTorch's layouts.
public struct Tensor: Equatable, Sendable {
    public private(set) var shape: [Int]
    public var values: [Float]

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.values = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Wraps values whose count must equal the product of `shape`.
    public init(shape: [Int], values: [Float]) throws {
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), values.count == count else {
            throw SAMRuntimeError.inputShapeMismatch(what: "tensor", expected: shape, actualCount: values.count)
        }
        self.shape = shape
        self.values = values
    }

    /// Internal unchecked initializer for values the runtime produced itself.
    init(uncheckedShape shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }

    public var count: Int { values.count }

    /// Size of the last axis (the channel axis of a channels-last activation).
    var lastDimension: Int { shape.last ?? 1 }
    /// Number of rows when viewed as `[rows][lastDimension]`.
    var rows: Int { lastDimension == 0 ? 0 : values.count / lastDimension }

    /// The same values under another shape with the same element count.
    func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == values.count, "internal reshape with a different count")
        return Tensor(uncheckedShape: newShape, values: values)
    }
}

extension Tensor {
    /// `[rows][cols]` → `[cols][rows]`; converts between channels-first and channels-last.
    static func transpose(_ values: [Float], rows: Int, cols: Int) -> [Float] {
        let count = rows * cols
        precondition(values.count >= count, "internal transpose of \(values.count) values as \(rows)×\(cols)")
        guard count > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            values.withUnsafeBufferPointer { src in
                let s = src.baseAddress!, d = out.baseAddress!
                // Bands of 16 source rows (16 KB for a 256-wide embedding, in
                // L1), each output row's 16 values written in one go: one
                // whole cache line per store run. Column-inner 32×32 blocks
                // wrote each output line in 32 pieces at a 16 KB stride (one
                // L1 set), so lines were evicted between pieces: ~5 ms of CPU
                // for vit_t's 1M-value embedding. Bands run in parallel once
                // the tensor is image-sized.
                let block = 16, bands = (rows + block - 1) / block
                let band = { (b: Int) in
                    let r0 = b * block, r1 = min(r0 + block, rows)
                    for c in 0..<cols {
                        let out = d + c * rows
                        for r in r0..<r1 { out[r] = s[r * cols + c] }
                    }
                }
                if count >= 1 << 16 {
                    Parallel.forEach(tasks: bands) { b, _ in band(b) }
                } else {
                    for b in 0..<bands { band(b) }
                }
            }
            initialized = count
        }
    }

    /// Elementwise sum of two equally sized arrays, in one vector pass
    /// (`samq_add_f32`: the same additions on every ISA).
    static func add(_ a: [Float], _ b: [Float]) -> [Float] {
        precondition(a.count == b.count, "internal add of different sizes")
        return [Float](unsafeUninitializedCapacity: a.count) { out, initialized in
            a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    if let o = out.baseAddress, let xp = x.baseAddress, let yp = y.baseAddress {
                        samq_add_f32(samq_isa_best(), xp, yp, o, a.count)
                    }
                }
            }
            initialized = a.count
        }
    }
}
