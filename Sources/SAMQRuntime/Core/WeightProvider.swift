import SAMQFormat

/// The source of a model's weights, by official `state_dict` name.
///
/// The runtime asks for every tensor by the name PyTorch gives it
/// (`image_encoder.blocks.0.attn.qkv.weight`, ...), so any container — a `.samq`
/// file, a safetensors checkpoint in tests — can back a model.
public protocol WeightProvider: AnyObject {
    var config: ModelConfig { get }
    /// A tensor as f32 in PyTorch's logical shape and C order, by its official state_dict name.
    func floats(_ name: String) throws -> [Float]
    func shape(_ name: String) -> [Int]?
    /// The tensor's IEEE half-precision bits when it is stored as f16 (so it
    /// can stay f16 in memory), else nil. Same order as `floats`.
    func halfPrecisionBits(_ name: String) throws -> [UInt16]?
    /// Whether tensors may be read from several threads at once (so that
    /// `SamPredictor` can build its networks concurrently). Default: no.
    var allowsConcurrentReads: Bool { get }
}

extension WeightProvider {
    public func halfPrecisionBits(_ name: String) throws -> [UInt16]? { nil }
    public var allowsConcurrentReads: Bool { false }

    /// Loads a tensor and checks it against the shape the config implies, so a
    /// mismatched file fails at load time with the tensor's name instead of
    /// producing garbage (or reading out of bounds) later.
    func tensor(_ name: String, shape expected: [Int]) throws -> [Float] {
        // Tolerates size-1 dims in either spelling (e.g. embeddings [1, C] vs [C]).
        try requireShape(name, expected)
        let values = try floats(name)
        let count = expected.reduce(1, *)
        guard values.count == count else {
            throw SAMRuntimeError.weightSizeMismatch(name: name, expectedCount: count, actualCount: values.count)
        }
        return values
    }

    /// Checks a tensor's presence and shape without reading it (size-1 dims
    /// tolerated as in `tensor(_:shape:)`).
    func requireShape(_ name: String, _ expected: [Int]) throws {
        guard let actual = shape(name) else { throw SAMRuntimeError.missingWeight(name: name) }
        guard actual.filter({ $0 != 1 }) == expected.filter({ $0 != 1 }),
              actual.reduce(1, *) == expected.reduce(1, *) else {
            throw SAMRuntimeError.weightShapeMismatch(name: name, expected: expected, actual: actual)
        }
    }

    /// The first dimension of a weight, for tables whose length is not fixed by the config.
    func leadingDimension(_ name: String) throws -> Int {
        guard let actual = shape(name), let first = actual.first else {
            throw SAMRuntimeError.missingWeight(name: name)
        }
        return first
    }
}
