#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A predict request checked against its image, before any model work: every
/// fault is a 400 that says which value is wrong and why.
struct ValidatedPrompt: Sendable {
    var points: [(x: Float, y: Float)]
    var labels: [Int]
    var box: [Float]?
    var maskInputRequest: MaskInputRequest?
    var multimask: Bool

    static let maxPoints = 64

    init(_ request: PredictRequest, width: Int, height: Int) throws {
        let rawPoints = request.points ?? []
        let labels = request.labels ?? []
        guard rawPoints.count <= Self.maxPoints else {
            throw APIError.badPrompt("at most \(Self.maxPoints) points per request, got \(rawPoints.count)")
        }
        guard labels.count == rawPoints.count else {
            throw APIError.badPrompt("\(rawPoints.count) points need \(rawPoints.count) labels, got \(labels.count)")
        }
        var points = [(x: Float, y: Float)]()
        for (i, point) in rawPoints.enumerated() {
            guard point.count == 2 else { throw APIError.badPrompt("point \(i) must be [x, y], got \(point.count) numbers") }
            guard point[0].isFinite, point[1].isFinite else { throw APIError.badPrompt("point \(i) is not finite") }
            guard point[0] >= 0, point[1] >= 0, point[0] <= Double(width), point[1] <= Double(height) else {
                throw APIError.badPrompt("point \(i) (\(point[0]), \(point[1])) lies outside the \(width)×\(height) image")
            }
            guard labels[i] == 0 || labels[i] == 1 else {
                throw APIError.badPrompt("label \(i) is \(labels[i]); labels are 1 (foreground) or 0 (background)")
            }
            points.append((Float(point[0]), Float(point[1])))
        }
        if let box = request.box {
            guard box.count == 4 else { throw APIError.badPrompt("box must be [x0, y0, x1, y1], got \(box.count) numbers") }
            guard box.allSatisfy(\.isFinite) else { throw APIError.badPrompt("box \(box) is not finite") }
            guard box[0] <= box[2], box[1] <= box[3] else { throw APIError.badPrompt("box \(box) has x1 < x0 or y1 < y0") }
            guard box[0] >= 0, box[1] >= 0, box[2] <= Double(width), box[3] <= Double(height) else {
                throw APIError.badPrompt("box \(box) lies outside the \(width)×\(height) image")
            }
        }
        if let mask = request.maskInput {
            guard (mask.prediction == nil) != (mask.logits == nil) else {
                throw APIError.badPrompt("maskInput needs exactly one of 'prediction' (an earlier prediction's id) or 'logits' (base64 float32)")
            }
            if let index = mask.index, mask.logits != nil {
                throw APIError.badPrompt("maskInput.index \(index) applies to 'prediction' only")
            }
        }
        guard !points.isEmpty || request.box != nil || request.maskInput != nil else {
            throw APIError.badPrompt("no prompt: give points (with labels), a box, or a maskInput")
        }
        self.points = points
        self.labels = labels
        box = request.box.map { $0.map(Float.init) }
        maskInputRequest = request.maskInput
        multimask = request.multimask ?? true
    }

    /// Decodes base64 little-endian float32 logits of an `side × side` plane.
    static func decodeLogits(_ base64: String, side: Int) throws -> [Float] {
        guard let data = Data(base64Encoded: base64) else {
            throw APIError.badPrompt("maskInput.logits is not valid base64")
        }
        guard data.count == side * side * 4 else {
            throw APIError.badPrompt("maskInput.logits must hold \(side)×\(side) float32 values (\(side * side * 4) bytes), got \(data.count) bytes")
        }
        let values = data.withUnsafeBytes { raw in
            (0..<(side * side)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        guard values.allSatisfy(\.isFinite) else { throw APIError.badPrompt("maskInput.logits holds NaN or infinite values") }
        return values
    }
}
