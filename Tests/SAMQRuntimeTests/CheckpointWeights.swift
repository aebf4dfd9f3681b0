import SAMQConverter
import SAMQFormat
@testable import SAMQRuntime

/// A `WeightProvider` over an official checkpoint (`.pth` or `.safetensors`)
/// through the converter's streaming `CheckpointLoader`, for the parity tests.
final class CheckpointWeights: WeightProvider {
    let config: ModelConfig
    let source: CheckpointSource
    private let shapes: [String: [Int]]

    init(path: String, config: ModelConfig) throws {
        self.config = config
        source = try CheckpointLoader.open(path: path)
        shapes = Dictionary(source.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
    }

    var names: [String] { source.tensors.map(\.name) }

    func shape(_ name: String) -> [Int]? { shapes[name] }

    func floats(_ name: String) throws -> [Float] {
        guard shapes[name] != nil else { throw SAMRuntimeError.missingWeight(name: name) }
        return try source.readFloat32(named: name)
    }
}
