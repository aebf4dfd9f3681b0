// libFuzzer target: the .npy reader that `samq segment --embedding` and
// `--mask-input` run on user files (magic, version, header dict, dtype,
// shape, sizes), then the Float and byte conversions of whatever parses.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNumPy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let array = try? NumPyArray.decode(bytes, path: "fuzz.npy") {
        // Whatever parses must also encode and read back to the same array.
        if let encoded = try? array.encoded(), let again = try? NumPyArray.decode(encoded) {
            precondition(again == array || array.values.contains { $0.isNaN }, "a parsed .npy does not round-trip")
        }
    }
    return 0
}
