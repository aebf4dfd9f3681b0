// libFuzzer target: safetensors header validation, HF name mapping and
// element conversion over a whole file image held in memory.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = CheckpointLoader.sniff(bytes)
    guard let header = try? SafetensorsHeader(bytes: bytes, path: "fuzz.safetensors") else { return 0 }
    _ = try? SAMNameMapping.map(header.entries.map(\.name), path: "fuzz.safetensors")
    for entry in header.entries {
        guard entry.data.upperBound <= bytes.count else { fatalErrorForFuzzing("entry outside the file") }
        let tensor = UnsafeRawBufferPointer(rebasing: bytes[entry.data])
        _ = ElementConversion.floats(from: tensor, dtype: entry.dtype, layout: .contiguous(shape: entry.shape))
    }
    return 0
}

/// A validated range outside the input is a reader bug: crash so libFuzzer records it.
func fatalErrorForFuzzing(_ message: String) -> Never {
    preconditionFailure("fuzz invariant violated: \(message)")
}
