import Foundation

/// Folds MobileSAM's `Conv2d_BN` pairs into plain convolutions, as a view
/// over a checkpoint: the runtime has no BatchNorm.
///
/// For `X.c.weight` with `X.bn.{weight,bias,running_mean,running_var}` the view
/// offers `X.weight = c.weight · γ/√(var+ε)` (per output channel) and
/// `X.bias = β − mean · γ/√(var+ε)`, exactly `Conv2d_BN.fuse()` (ε = 1e-5,
/// `nn.BatchNorm2d`'s default). The arithmetic is in Double, rounded once.
/// `num_batches_tracked` and the unused ImageNet classifier
/// (`image_encoder.norm_head.*`, `image_encoder.head.*`) are dropped.
/// Every other tensor passes through untouched, one tensor read at a time.
public enum BatchNormFolding {
    public static let epsilon = 1e-5
    static let statistics = ["weight", "bias", "running_mean", "running_var"]

    /// Whether `input` holds `Conv2d_BN` pairs (a TinyViT / MobileSAM checkpoint).
    public static func applies(to input: ConversionInput) -> Bool {
        input.tensors.contains { $0.name.hasSuffix(".bn.running_var") }
    }

    static func isDropped(_ name: String) -> Bool {
        name.hasSuffix(".num_batches_tracked") || name.hasPrefix("image_encoder.norm_head.")
            || name.hasPrefix("image_encoder.head.")
    }

    public static func fold(_ input: ConversionInput) throws -> ConversionInput {
        let shapes = input.shapes
        var folded: [String: String] = [:]   // X (folded prefix) -> source conv weight name
        var tensors: [SourceTensorInfo] = []
        for tensor in input.tensors where !isDropped(tensor.name) {
            let name = tensor.name
            if name.hasSuffix(".c.weight") {
                let prefix = String(name.dropLast(".c.weight".count))
                guard tensor.shape.count == 4, let out = tensor.shape.first else {
                    throw ConverterError.cannotDetect("'\(name)' has shape \(tensor.shape), expected a 4-D conv weight")
                }
                for stat in statistics {
                    let bn = "\(prefix).bn.\(stat)"
                    guard let s = shapes[bn] else { throw ConverterError.missingTensor(bn) }
                    guard s == [out] else { throw ConverterError.shapeMismatch(name: bn, expected: [out], found: s) }
                }
                folded[prefix] = name
                tensors.append(SourceTensorInfo(name: prefix + ".weight", dtype: .f32, shape: tensor.shape))
                tensors.append(SourceTensorInfo(name: prefix + ".bias", dtype: .f32, shape: [out]))
            } else if let range = name.range(of: ".bn."), statistics.contains(String(name[range.upperBound...])) {
                let prefix = String(name[..<range.lowerBound])
                guard shapes[prefix + ".c.weight"] != nil else { throw ConverterError.missingTensor(prefix + ".c.weight") }
            } else {
                tensors.append(tensor)
            }
        }
        let read = input.read
        return ConversionInput(tensors: tensors, provenance: input.provenance) { name in
            if name.hasSuffix(".weight"), let source = folded[String(name.dropLast(".weight".count))] {
                let prefix = String(name.dropLast(".weight".count))
                let scale = try Self.scale(prefix, read: read)
                let weight = try read(source)
                guard !scale.isEmpty, weight.count % scale.count == 0 else {
                    throw ConverterError.shapeMismatch(name: source, expected: [scale.count], found: [weight.count])
                }
                let perChannel = weight.count / scale.count
                return weight.indices.map { Float(Double(weight[$0]) * scale[$0 / perChannel]) }
            }
            if name.hasSuffix(".bias"), folded[String(name.dropLast(".bias".count))] != nil {
                let prefix = String(name.dropLast(".bias".count))
                let scale = try Self.scale(prefix, read: read)
                let beta = try read(prefix + ".bn.bias"), mean = try read(prefix + ".bn.running_mean")
                return scale.indices.map { Float(Double(beta[$0]) - Double(mean[$0]) * scale[$0]) }
            }
            return try read(name)
        }
    }

    /// γ/√(var+ε) per channel, checked: a negative running variance is a broken checkpoint.
    static func scale(_ prefix: String, read: (String) throws -> [Float]) throws -> [Double] {
        let gamma = try read(prefix + ".bn.weight"), variance = try read(prefix + ".bn.running_var")
        guard gamma.count == variance.count else {
            throw ConverterError.shapeMismatch(name: prefix + ".bn.running_var", expected: [gamma.count], found: [variance.count])
        }
        if let bad = variance.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
            throw ConverterError.negativeVariance(name: prefix + ".bn.running_var", index: bad)
        }
        return gamma.indices.map { Double(gamma[$0]) / (Double(variance[$0]) + epsilon).squareRoot() }
    }
}
