#if canImport(Glibc)
import Glibc
#endif

/// Allocator settings for a one-shot compute process.
enum ProcessMemory {
    /// glibc raises its mmap threshold each time a large block is freed (up
    /// to 32 MB), after which buffers of up to that size come from the heap
    /// and stay in the process when freed: ~10 MB of a 150 MB streamed
    /// encode. A fixed threshold keeps every large buffer mmap-backed, so
    /// freeing it returns the pages. `mallopt` lives in <malloc.h>, which
    /// the Glibc module does not export, hence the lookup. Other C
    /// libraries need no setting.
    ///
    /// Only for processes with a streamed encoder (`encode`, segment on a
    /// small budget): every large allocation then costs an mmap and fresh
    /// page faults, which measured 2× slower per prompt in the mask decoder
    /// (vit_b 15 → 28 ms). Resident, repeated or decoder-only work (segment
    /// --embedding, everything, bench, serve) keeps glibc's adaptive
    /// threshold; the decoder reaches its memory target without it.
    static func returnFreedBuffersToSystem() {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3   // M_MMAP_THRESHOLD in <malloc.h>
        guard let symbol = dlsym(nil, "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 256 << 10)
        #endif
    }
}
