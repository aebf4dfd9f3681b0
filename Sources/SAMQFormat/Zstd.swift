import CZstd

/// One-shot zstd frames, one per tensor, so any tensor can be decompressed on
/// its own (the streaming loader's unit of work).
public enum Zstd {
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32) throws -> [UInt8] {
        let capacity = ZSTD_compressBound(input.count)
        guard ZSTD_isError(capacity) == 0 else { throw SAMQFormatError.compression("input of \(input.count) bytes is too large") }
        var output = [UInt8](repeating: 0, count: capacity)
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compress(out.baseAddress, capacity, input.baseAddress, input.count, level)
        }
        guard ZSTD_isError(written) == 0 else { throw SAMQFormatError.compression(errorName(written)) }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses a frame that must expand to exactly `output.count` bytes.
    public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                  context: DecompressionContext? = nil) throws {
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        guard declared == UInt64(output.count) else {
            if declared == ZSTD_CONTENTSIZE_ERROR { throw SAMQFormatError.compression("not a zstd frame") }
            throw SAMQFormatError.compression("frame declares \(declared) bytes, expected \(output.count)")
        }
        let written: Int
        if let context {
            written = ZSTD_decompressDCtx(context.pointer, output.baseAddress, output.count, input.baseAddress, input.count)
        } else {
            written = ZSTD_decompress(output.baseAddress, output.count, input.baseAddress, input.count)
        }
        guard ZSTD_isError(written) == 0 else { throw SAMQFormatError.compression(errorName(written)) }
        guard written == output.count else {
            throw SAMQFormatError.compression("frame expanded to \(written) bytes, expected \(output.count)")
        }
    }

    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }

    /// A reusable decompression context: saves re-allocating zstd's window
    /// state for every tensor when streaming hundreds of them.
    public final class DecompressionContext {
        let pointer: OpaquePointer
        public init() throws {
            guard let context = ZSTD_createDCtx() else { throw SAMQFormatError.compression("out of memory creating a context") }
            pointer = context
        }
        deinit { ZSTD_freeDCtx(pointer) }
    }
}
