import CZlib

/// A PNG encoded in independent bands of rows, so that the bands of one or
/// several images can be compressed on any threads, in any order, and
/// assembled after.
///
/// The image's rows are cut into bands of about `bandBytes` raw bytes. Each
/// band is filtered and deflated on its own as a raw deflate stream that ends
/// in a sync flush (byte-aligned, not final; the last band ends the stream),
/// so the concatenated bands are one valid zlib stream (as pigz builds its
/// output); the zlib header goes before band 0 and the Adler-32 of all the
/// filtered rows, combined from the bands' own, after the last. Each band is
/// its own IDAT chunk, whose CRC is computed with the band. Band borders
/// depend only on the image's size, never on the threads, so the file's
/// bytes do not either.
///
/// No dictionary is carried across bands: with run-length deflate (the
/// default `PNGCompression`) matches never reach back more than one byte, so
/// a band loses at most its first run and one Huffman table's worth.
public struct PNGBandEncoder: @unchecked Sendable {
    /// One compressed band: its IDAT payload so far (the zlib header first
    /// in band 0), the running CRC of the chunk over its type and that
    /// payload, and the Adler-32 and byte count of the filtered rows it holds.
    public struct Band: Sendable {
        var payload: [UInt8]
        var crc: UInt32
        var adler: UInt32
        var rawCount: Int
    }

    /// Raw (filtered) bytes per band, at least one row: large enough that the
    /// per-band costs (a deflate state, a Huffman table) are noise, small
    /// enough that a 1024×768 RGB image gives 10 bands to share out.
    public static let bandBytes = 1 << 18

    let pixels: [UInt8]
    let width: Int
    let height: Int
    let channels: Int
    let compression: PNGCompression
    /// Rows in every band but possibly the last.
    public let rowsPerBand: Int

    public init(_ image: RGBImage, compression: PNGCompression = .photo) throws(ImageError) {
        try self.init(pixels: image.pixels, width: image.width, height: image.height, channels: 3,
                      compression: compression)
    }

    public init(_ image: GrayImage, compression: PNGCompression = .mask) throws(ImageError) {
        try self.init(pixels: image.pixels, width: image.width, height: image.height, channels: 1,
                      compression: compression)
    }

    private init(pixels: [UInt8], width: Int, height: Int, channels: Int,
                 compression: PNGCompression) throws(ImageError) {
        // PNG sizes are 31-bit; a row, with its filter byte, must fit zlib's 32-bit counts.
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max),
              width <= (Int(UInt32.max) - 1) / channels, pixels.count == width * height * channels else {
            throw .invalidDimensions(width: width, height: height)
        }
        self.pixels = pixels
        self.width = width
        self.height = height
        self.channels = channels
        self.compression = compression
        rowsPerBand = max(1, Self.bandBytes / (width * channels + 1))
    }

    public var bandCount: Int { (height + rowsPerBand - 1) / rowsPerBand }

    /// Filters and deflates band `index` (in `0..<bandCount`).
    public func band(_ index: Int) throws(ImageError) -> Band {
        precondition((0..<bandCount).contains(index), "band \(index) of \(bandCount)")
        let stride = width * channels
        let rows = (index * rowsPerBand)..<min(height, (index + 1) * rowsPerBand)
        let rawCount = rows.count * (stride + 1)
        let raw = [UInt8](unsafeUninitializedCapacity: rawCount) { buffer, initialized in
            pixels.withUnsafeBufferPointer { source in
                PNGRowFilter.apply(compression.filter, pixels: source.baseAddress!, stride: stride,
                                   bytesPerPixel: channels, rows: rows, into: buffer.baseAddress!)
            }
            initialized = rawCount
        }
        let header: [UInt8] = index == 0 ? Self.zlibHeader : []
        let payload = try Self.deflate(raw, after: header, compression: compression, finishing: index == bandCount - 1)
        let crc = payload.withUnsafeBufferPointer { crc32(Self.idatTypeCRC, $0.baseAddress, UInt32($0.count)) }
        let adler = raw.withUnsafeBufferPointer { adler32(1, $0.baseAddress, UInt32($0.count)) }
        return Band(payload: payload, crc: UInt32(crc), adler: UInt32(adler), rawCount: rawCount)
    }

    /// The PNG file from all the bands, in order.
    public func file(_ bands: [Band]) -> [UInt8] {
        precondition(bands.count == bandCount, "\(bands.count) bands of \(bandCount)")
        var adler: UInt = 1
        for band in bands { adler = adler32_combine(adler, UInt(band.adler), off_t(band.rawCount)) }
        let trailer = Self.bigEndian(UInt32(adler))
        let payloadBytes = bands.reduce(0) { $0 + $1.payload.count + 12 }
        var out: [UInt8] = []
        out.reserveCapacity(Self.signature.count + 25 + 13 + payloadBytes + 4 + 12)
        out += Self.signature
        var ihdr = Self.bigEndian(UInt32(width)) + Self.bigEndian(UInt32(height))
        ihdr += [8, channels == 3 ? 2 : 0, 0, 0, 0]   // 8 bits, gray or RGB, deflate, adaptive filtering, no interlace
        Self.appendChunk("IHDR", ihdr, to: &out)
        // What libpng's simplified writer recorded: 8-bit values are sRGB.
        Self.appendChunk("sRGB", [0], to: &out)
        for (i, band) in bands.enumerated() {
            let last = i == bands.count - 1
            out += Self.bigEndian(UInt32(band.payload.count + (last ? 4 : 0)))
            out += Array("IDAT".utf8)
            out += band.payload
            var crc = UInt(band.crc)
            if last {
                out += trailer
                crc = trailer.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, 4) }
            }
            out += Self.bigEndian(UInt32(crc))
        }
        Self.appendChunk("IEND", [], to: &out)
        return out
    }

    // MARK: Pieces

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Deflate with a 32 KB window, "fastest" level hint; (0x78 · 256 + 0x01) % 31 == 0.
    static let zlibHeader: [UInt8] = [0x78, 0x01]
    static let idatTypeCRC: UInt = Array("IDAT".utf8).withUnsafeBufferPointer { crc32(0, $0.baseAddress, 4) }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        let typed = Array(type.utf8) + data
        out += bigEndian(UInt32(data.count))
        out += typed
        out += bigEndian(UInt32(typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }))
    }

    /// `prefix` then `raw` as a raw deflate stream (no zlib header), ended by
    /// a sync flush, or finished when `finishing`.
    static func deflate(_ raw: [UInt8], after prefix: [UInt8], compression: PNGCompression,
                        finishing: Bool) throws(ImageError) -> [UInt8] {
        var stream = z_stream()
        let initialized = deflateInit2_(&stream, compression.level, Z_DEFLATED, -15, 8, compression.strategy.zlibValue,
                                        zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initialized == Z_OK else { throw .encodingFailed(format: "PNG", reason: "deflateInit2 failed (\(initialized))") }
        defer { deflateEnd(&stream) }
        // Room for incompressible data (stored blocks) and the flush marker;
        // the loop grows it should that ever fall short.
        var out = prefix + [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(raw.count))) + 64)
        var produced = prefix.count
        let flush = finishing ? Z_FINISH : Z_SYNC_FLUSH
        var status: Int32 = Z_OK
        raw.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while true {
                if produced == out.count { out += [UInt8](repeating: 0, count: max(4096, out.count / 4)) }
                out.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress! + produced
                    stream.avail_out = UInt32(buffer.count - produced)
                    status = CZlib.deflate(&stream, flush)
                    produced = buffer.count - Int(stream.avail_out)
                }
                let done = finishing ? status == Z_STREAM_END : stream.avail_in == 0 && stream.avail_out > 0
                // Z_BUF_ERROR with room left means no progress is possible: fail below.
                if done || status != Z_OK && (status != Z_BUF_ERROR || stream.avail_out > 0) { break }
            }
        }
        guard status == (finishing ? Z_STREAM_END : Z_OK) else {
            throw .encodingFailed(format: "PNG", reason: "deflate failed (\(status))")
        }
        out.removeLast(out.count - produced)
        return out
    }
}
