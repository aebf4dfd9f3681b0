import SAMQFormat

/// Seeded random weights of a config's exact shapes, with no checkpoint and
/// no Python: what benchmarks and memory tests convert.
///
/// Values follow the scale of trained SAM weights closely enough for timing
/// and memory work (uniform ±1/√fan-in for GEMM weights, LayerNorm weights
/// near 1), and every tensor is non-zero so nothing is optimized away.
public struct RandomWeights {
    public let schema: SAMSchema
    public let seed: UInt64

    public init(config: ModelConfig, seed: UInt64) {
        schema = SAMSchema(config: config)
        self.seed = seed
    }

    public var tensors: [SourceTensorInfo] { schema.tensors.map { SourceTensorInfo(name: $0.name, dtype: .f32, shape: $0.shape) } }

    /// Each tensor draws from its own stream (seed ⊕ name hash), so values do
    /// not depend on the order tensors are requested in.
    public func values(named name: String) throws -> [Float] {
        guard let tensor = schema.tensors.first(where: { $0.name == name }) else { throw ConverterError.missingTensor(name) }
        var generator = SplitMix64(seed: seed ^ XXHash64.hash(Array(name.utf8)))
        let count = tensor.shape.reduce(1, *)
        let isNormWeight = name.hasSuffix(".weight") && tensor.shape.count == 1
        let isBias = name.hasSuffix(".bias")
        let bound: Float
        if let view = tensor.gemmView, let (_, k) = view.dimensions(of: tensor.shape) {
            bound = 1 / Float(k).squareRoot()
        } else if tensor.shape.count == 4 {
            // Depthwise convs (TinyViT) have no GEMM view: ±1/√(kh·kw) as well.
            bound = 1 / Float(tensor.shape.dropFirst().reduce(1, *)).squareRoot()
        } else if isBias {
            bound = 0.02
        } else if isNormWeight {
            bound = 0.1
        } else {
            bound = 0.5
        }
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let u = generator.nextUnitFloat() * 2 - 1
            out[i] = (isNormWeight ? 1 : 0) + u * bound
        }
        return out
    }

    public func input(converterVersion: String) -> ConversionInput {
        ConversionInput(tensors: tensors,
                        provenance: .init(source: "random:\(schema.config.variant)", sourceFormat: "random",
                                          randomSeed: seed, converterVersion: converterVersion,
                                          createdAt: Timestamp.nowISO8601()),
                        read: { try values(named: $0) })
    }
}

/// SplitMix64: tiny, fast and good enough for weights.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 24 bits of precision.
    mutating func nextUnitFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
}
