/// A grow-only, 64-byte aligned scratch allocation.
///
/// The hot paths reuse these across calls so a forward pass allocates
/// nothing once the buffers have reached their steady-state size; 64-byte
/// alignment keeps SIMD loads on one cache line and satisfies the 4-byte
/// alignment the packed-weight kernels require.
final class AlignedBuffer {
    private(set) var raw: UnsafeMutableRawPointer
    private(set) var byteCount: Int

    init(byteCount: Int = 0) {
        self.byteCount = max(byteCount, 64)
        raw = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: 64)
    }

    deinit { raw.deallocate() }

    /// Ensures room for `bytes` bytes; old contents are not preserved.
    @discardableResult
    func reserve(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > byteCount {
            raw.deallocate()
            // Grow geometrically so a sequence of slightly larger requests
            // (windowed then global blocks) reallocates only a few times.
            byteCount = max(bytes, byteCount + byteCount / 2)
            raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        }
        return raw
    }

    func pointer<T>(as type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        reserve(bytes: count * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: count)
    }
}

/// Rounds `value` up to a multiple of `multiple`.
@inline(__always)
func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

/// A `[Float]` of `count` elements filled by `body`, without zero-filling it
/// first (the output of every layer is written in full by its kernel).
func makeFloatArray(count: Int, _ body: (UnsafeMutablePointer<Float>) throws(Int8RuntimeError) -> Void)
    throws(Int8RuntimeError) -> [Float] {
    var failure: Int8RuntimeError?
    let array = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0, let base = buffer.baseAddress {
            do throws(Int8RuntimeError) { try body(base) } catch { failure = error }
        }
        initialized = count
    }
    if let failure { throw failure }
    return array
}
