import Foundation
import SAMQFormat

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
