import SAMQFormat

/// Weights served from a `.samq` file. Tensors are decoded on request (f16
/// widened, packed int8 dequantized), so the f32 reference path can run any
/// `.samq`, quantized or not.
public final class SAMQFileWeights: WeightProvider {
    public let file: SAMQFile

    public init(file: SAMQFile) { self.file = file }

    public convenience init(path: String) throws { self.init(file: try SAMQFile(path: path)) }

    public var config: ModelConfig { file.config }

    public func floats(_ name: String) throws -> [Float] {
        let values = try file.floats(name)
        if let entry = try? file.entry(named: name) { file.release(entry) }
        return values
    }

    public func shape(_ name: String) -> [Int]? { try? file.entry(named: name).shape }

    public func halfPrecisionBits(_ name: String) throws -> [UInt16]? {
        let entry = try file.entry(named: name)
        guard entry.dtype == .f16, entry.layout == .plain else { return nil }
        var scratch: [UInt8] = []
        let bits = try file.withRawBytes(of: entry, scratch: &scratch) { raw in
            raw.bindMemory(to: UInt16.self).map { UInt16(littleEndian: $0) }
        }
        file.release(entry)
        return bits
    }
}
