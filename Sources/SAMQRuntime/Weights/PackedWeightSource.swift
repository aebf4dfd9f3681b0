import SAMQFormat

/// A weight source that can hand out GEMM weights already in the kernels'
/// packed int8 layout, so int8 layers skip the dequantize/requantize round
/// trip (`.samq` files, and the staged blocks of the streaming encoder).
protocol PackedWeightSource: WeightProvider {
    /// The packed matrix `name`, or nil when it is not stored packed (the
    /// caller then quantizes the f32 tensor). `shape` and `view` are what the
    /// config implies; a stored tensor that disagrees is an error.
    func packedMatrix(named name: String, view: GemmView, shape: [Int]) throws -> PackedInt8Matrix?
    /// True when an int8 file stores the GEMM weight `name` unpacked on
    /// purpose (`samq-convert --keep-f32`): the layer then runs in f32. An f32
    /// file run on the int8 path (`SAMQ_PRECISION=int8`) answers false: its
    /// weights are quantized at load.
    func keepsFloat32(_ name: String) -> Bool
}

extension SAMQFile {
    func keepsFloat32(_ name: String) -> Bool {
        guard metadata.quantization.weights == "int8", let entry = try? entry(named: name) else { return false }
        return entry.layout != .packedInt8
    }
}

extension SAMQFileWeights: PackedWeightSource {
    func packedMatrix(named name: String, view: GemmView, shape: [Int]) throws -> PackedInt8Matrix? {
        guard let entry = try? file.entry(named: name), entry.layout == .packedInt8 else { return nil }
        guard entry.shape == shape, entry.gemmView == view else {
            throw SAMRuntimeError.weightShapeMismatch(name: name, expected: shape, actual: entry.shape)
        }
        return try PackedInt8Matrix(file: file, name: name)
    }

    func keepsFloat32(_ name: String) -> Bool { file.keepsFloat32(name) }
}
