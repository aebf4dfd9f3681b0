// libFuzzer target: image decoding as `samq segment` and `samq serve` run it
// on user files: format sniffing, the Swift PNG/JPEG header walk that reads
// the dimensions, the pixel limit, then libpng / TurboJPEG. A small pixel
// limit keeps each run fast; the header checks are the same at any limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let image = try? ImageDecoder(maxPixels: 1 << 20).decode(bytes: bytes) {
        precondition(image.width > 0 && image.height > 0 && image.pixels.count == image.width * image.height * 3,
                     "a decoded image has inconsistent dimensions")
    }
    return 0
}
