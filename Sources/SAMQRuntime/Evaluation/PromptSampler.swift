/// The kind of prompt `samq eval` draws: SAM's three interactive uses.
public enum EvaluationPromptKind: String, CaseIterable, Codable, Sendable {
    /// One positive point.
    case point
    /// One box.
    case box
    /// One positive point and a box that contains it.
    case pointAndBox = "point+box"
}

/// One drawn prompt in original-image pixels.
public struct EvaluationPrompt: Equatable, Codable, Sendable {
    public var kind: EvaluationPromptKind
    /// `(x, y)`, label 1, for `.point` and `.pointAndBox`.
    public var point: [Float]?
    /// `[x0, y0, x1, y1]` for `.box` and `.pointAndBox`.
    public var box: [Float]?
}

/// Draws evaluation prompts deterministically from a seed.
///
/// A model checkpoint has no notion of which objects an image holds, so the
/// prompts are geometric: points uniform inside the image, boxes with sides of
/// 10–60 % of the image's, placed uniformly (and, for point+box, so that they
/// contain the point). Kinds cycle point, box, point+box so any count covers
/// all three evenly.
///
/// The generator is SplitMix64 written out here, not the system RNG: the same
/// seed must give the same prompts on every platform and Swift version, so two
/// runs — or two machines — compare the same work.
public struct PromptSampler: Sendable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// `count` prompts for image number `imageIndex` of size `width × height`.
    /// Each image gets its own stream, so adding an image leaves the others' prompts unchanged.
    public func prompts(count: Int, width: Int, height: Int, imageIndex: Int = 0) -> [EvaluationPrompt] {
        var random = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: imageIndex) &* 0xD1B5_4A32_D192_ED03))
        let w = Float(width), h = Float(height)
        let kinds = EvaluationPromptKind.allCases
        return (0..<max(0, count)).map { index in
            let kind = kinds[index % kinds.count]
            let point = [random.unit() * w, random.unit() * h]
            switch kind {
            case .point:
                return EvaluationPrompt(kind: kind, point: point, box: nil)
            case .box:
                return EvaluationPrompt(kind: kind, point: nil, box: Self.box(in: w, h, containing: nil, &random))
            case .pointAndBox:
                return EvaluationPrompt(kind: kind, point: point, box: Self.box(in: w, h, containing: point, &random))
            }
        }
    }

    /// A box with sides 10–60 % of the image's, inside the image, containing `point` if given.
    static func box(in w: Float, _ h: Float, containing point: [Float]?, _ random: inout SplitMix64) -> [Float] {
        let bw = (0.1 + 0.5 * random.unit()) * w
        let bh = (0.1 + 0.5 * random.unit()) * h
        // Left edge range: inside the image, and left of the point by at most the box width.
        // Non-empty because bw ≤ w and 0 ≤ px ≤ w.
        let x0 = Self.origin(extent: bw, limit: w, anchor: point?[0], random.unit())
        let y0 = Self.origin(extent: bh, limit: h, anchor: point?[1], random.unit())
        // Clamped: Float rounding of x0 + bw must not step outside the image (the predictor
        // rejects that), nor leave the point an ulp outside its box.
        var box = [x0, y0, min(w, x0 + bw), min(h, y0 + bh)]
        if let point {
            box = [min(box[0], point[0]), min(box[1], point[1]), max(box[2], point[0]), max(box[3], point[1])]
        }
        return box
    }

    static func origin(extent: Float, limit: Float, anchor: Float?, _ u: Float) -> Float {
        let low = anchor.map { max(0, $0 - extent) } ?? 0
        let high = anchor.map { min($0, limit - extent) } ?? (limit - extent)
        return min(max(0, low + u * max(0, high - low)), limit)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified, so
/// streams are reproducible everywhere.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) on 24 bits: exactly representable as a Float, never 1.
    mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }
}
