// libFuzzer target: the .samq reader (header, metadata, table, schema checks,
// then every tensor's decompression and checksum) over an in-memory file.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSAMQ(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let map = MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), name: "fuzz.samq")
    guard let file = try? SAMQFile(map: map) else { return 0 }
    var scratch: [UInt8] = []
    for entry in file.entries {
        _ = try? file.withRawBytes(of: entry, scratch: &scratch) { raw in
            _ = try? TensorDecoding.floats(entry: entry, raw: raw)
        }
    }
    return 0
}
