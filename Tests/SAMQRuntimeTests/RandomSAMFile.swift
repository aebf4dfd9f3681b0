import Foundation
import SAMQConverter
import SAMQFormat

/// A small `.samq` from seeded random weights, written to the temporary
/// directory: what the runtime tests that need a real converted file build.
/// The config is passed to the converter too, since a window size cannot be
/// read back from the tensor shapes.
enum RandomSAMFile {
    static func convert(config: ModelConfig, seed: UInt64, options: ConversionOptions = ConversionOptions(),
                        name: String) throws -> String {
        let path = NSTemporaryDirectory() + "samq-\(name)-\(getpid()).samq"
        var converter = Converter(options: options)
        converter.configOverride = config
        _ = try converter.convert(RandomWeights(config: config, seed: seed).input(converterVersion: "test"), to: path)
        return path
    }
}
