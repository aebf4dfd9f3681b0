// libFuzzer target: the restricted unpickler and the state-dict interpretation.
// Input: a raw data.pkl stream. Built by scripts/fuzz.sh into the same module
// as the checkpoint reader sources, so internal types are visible.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    // Errors are the expected outcome for most inputs; only crashes, hangs and
    // sanitizer reports count as findings.
    if let (root, heap) = try? Unpickler.load(bytes, path: "fuzz.pkl") {
        _ = try? TorchStateDict.namedTensors(root: root, heap: heap, path: "fuzz.pkl")
    }
    return 0
}
