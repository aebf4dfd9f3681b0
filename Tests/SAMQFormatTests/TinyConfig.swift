import Foundation
@testable import SAMQFormat

/// A SAM small enough that building and checking every tensor takes no time.
func tinyConfig() -> ModelConfig {
    var config = ModelConfig(
        variant: "custom",
        imageEncoder: .init(imgSize: 32, patchSize: 8, embedDim: 16, depth: 2, numHeads: 2, mlpDim: 32,
                            outChans: 16, windowSize: 2, globalAttnIndexes: [1]),
        promptEncoder: .init(embedDim: 16, maskInChans: 4),
        maskDecoder: .init(transformerDim: 16, transformerMlpDim: 32, iouHeadHiddenDim: 16))
    config.maskDecoder.numHeads = 2
    return config
}

func temporaryPath(_ name: String) -> String {
    let directory = NSTemporaryDirectoryPath() + "samq-tests-\(getpid())"
    mkdirIfNeeded(directory)
    return directory + "/" + name
}

#if canImport(Glibc)
import Glibc
#endif
func NSTemporaryDirectoryPath() -> String { "/tmp/" }
func mkdirIfNeeded(_ path: String) { mkdir(path, 0o755) }

/// Writes a tiny f32 model with every tensor kind; returns its path and values.
func makeFile(codec: TensorCodec, name: String) throws -> (String, [String: [Float]]) {
    let schema = SAMSchema(config: tinyConfig())
    let plan = schema.tensors.map { TensorEntry(name: $0.name, dtype: .f32, layout: .plain, codec: codec, shape: $0.shape) }
    let metadata = SAMQMetadata(model: tinyConfig(),
                                provenance: .init(source: "test", sourceFormat: "test", converterVersion: "test",
                                                  createdAt: "now"),
                                quantization: .init(weights: "f32"))
    let path = temporaryPath(name)
    let writer = try SAMQWriter(path: path, metadata: metadata, plan: plan)
    var values: [String: [Float]] = [:]
    for (i, tensor) in schema.tensors.enumerated() {
        let data = (0..<tensor.shape.reduce(1, *)).map { Float($0 % 97) * 0.25 - Float(i) }
        values[tensor.name] = data
        try writer.append(name: tensor.name, floats: data)
    }
    try writer.finish()
    return (path, values)
}

