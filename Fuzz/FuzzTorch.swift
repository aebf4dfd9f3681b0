// libFuzzer target: zip reader + unpickler + tensor validation + element
// conversion, over a whole .pth image held in memory (an exactly sized heap
// buffer, so AddressSanitizer sees any out-of-bounds read).
//
// Random mutations almost never keep a zip entry's CRC-32 valid, which would
// stop nearly every input at the checksum. So each input is parsed twice: as
// is, and with the CRCs in its central directory recomputed, which lets
// mutated data.pkl and storages reach the unpickler and the tensor readers.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = CheckpointLoader.sniff(bytes)
    exercise(bytes)
    guard let zip = try? ZipArchive(bytes: bytes, path: "fuzz.pth") else { return 0 }
    var patched = [UInt8](bytes)
    for entry in zip.entries where entry.method == 0 && entry.data.upperBound <= size {
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[entry.data]))
        let field = entry.directoryOffset + 16
        guard field + 4 <= size else { continue }
        for index in 0..<4 { patched[field + index] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(index))) }
    }
    patched.withUnsafeBytes { exercise($0) }
    return 0
}

private func exercise(_ bytes: UnsafeRawBufferPointer) {
    guard let archive = try? TorchArchive(bytes: bytes, path: "fuzz.pth") else { return }
    _ = try? SAMNameMapping.map(archive.tensors.map(\.name), path: "fuzz.pth")
    for record in archive.tensors {
        guard let storage = try? archive.zip.verifiedData(of: record.entry, in: bytes) else { continue }
        _ = ElementConversion.floats(from: storage, dtype: record.dtype, layout: record.layout)
    }
}
