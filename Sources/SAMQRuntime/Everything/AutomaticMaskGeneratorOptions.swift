/// The parameters of the official `SamAutomaticMaskGenerator`, same names
/// (camel-cased) and defaults.
public struct AutomaticMaskGeneratorOptions: Equatable, Sendable {
    /// Points sampled along one side of the image (the grid is `n × n`). Ignored when `pointGrids` is set.
    public var pointsPerSide: Int = 32
    /// Points decoded per batch. Results do not depend on it; it bounds the work held at once.
    public var pointsPerBatch: Int = 64
    /// Keep masks whose predicted IoU is `>` this (0 disables the filter).
    public var predIoUThresh: Float = 0.88
    /// Keep masks whose stability score is `>=` this (0 disables the filter).
    public var stabilityScoreThresh: Float = 0.95
    /// How far the binarization cutoff moves for the stability score.
    public var stabilityScoreOffset: Float = 1.0
    /// Box IoU above which a lower-scored mask of the same crop is dropped.
    public var boxNMSThresh: Float = 0.7
    /// Extra crop layers: layer `i` has `2^i × 2^i` crops.
    public var cropNLayers: Int = 0
    /// Box IoU above which a mask from a larger crop is dropped in favour of one from a smaller crop.
    public var cropNMSThresh: Float = 0.7
    /// Crop overlap as a fraction of the short image side (first layer; later layers scale it down).
    public var cropOverlapRatio: Double = 512.0 / 1500.0
    /// Layer `i` samples `pointsPerSide / factor^i` points per side.
    public var cropNPointsDownscaleFactor: Int = 1
    /// Explicit normalized grids, one per crop layer (exclusive with `pointsPerSide`).
    public var pointGrids: [[GridPoint]]?
    /// When > 0, holes and islands smaller than this are removed, then masks re-NMSed.
    public var minMaskRegionArea: Int = 0

    public init() {}

    /// The densest grid accepted: 1,048,576 prompts per crop layer, hours of
    /// decoding on a board (the official default is 32). Without a bound, a
    /// slip such as 100000 asked for ten billion prompts and died allocating them.
    public static let maxPointsPerSide = 1024

    /// Rejects values the official generator would reject or that make no sense.
    public func validate() throws(EverythingError) {
        if let pointGrids {
            guard pointGrids.count == cropNLayers + 1 else {
                throw .invalidOption("point grids: \(pointGrids.count) given, crop layers need \(cropNLayers + 1)")
            }
            let limit = Self.maxPointsPerSide * Self.maxPointsPerSide
            guard pointGrids.allSatisfy({ $0.count <= limit }) else {
                throw .invalidOption("a point grid may hold at most \(limit) points")
            }
        } else {
            guard (1...Self.maxPointsPerSide).contains(pointsPerSide) else {
                throw .invalidOption("points per side must be in 1...\(Self.maxPointsPerSide), got \(pointsPerSide)")
            }
        }
        guard pointsPerBatch >= 1 else { throw .invalidOption("points per batch must be >= 1, got \(pointsPerBatch)") }
        guard (0...4).contains(cropNLayers) else { throw .invalidOption("crop layers must be 0...4, got \(cropNLayers)") }
        guard cropNPointsDownscaleFactor >= 1 else {
            throw .invalidOption("crop points downscale factor must be >= 1, got \(cropNPointsDownscaleFactor)")
        }
        guard cropOverlapRatio >= 0, cropOverlapRatio < 1 else {
            throw .invalidOption("crop overlap ratio must be in [0, 1), got \(cropOverlapRatio)")
        }
        for (name, value) in [("pred IoU", predIoUThresh), ("stability score", stabilityScoreThresh),
                              ("box NMS", boxNMSThresh), ("crop NMS", cropNMSThresh)] {
            guard value.isFinite else { throw .invalidOption("\(name) threshold must be finite") }
        }
        guard stabilityScoreOffset.isFinite, stabilityScoreOffset >= 0 else {
            throw .invalidOption("stability score offset must be finite and >= 0, got \(stabilityScoreOffset)")
        }
        guard minMaskRegionArea >= 0 else { throw .invalidOption("min mask region area must be >= 0") }
    }

    /// The normalized grid of every crop layer.
    var resolvedPointGrids: [[GridPoint]] {
        pointGrids ?? PointGrid.allLayers(pointsPerSide: pointsPerSide, cropLayers: cropNLayers,
                                          downscaleFactor: cropNPointsDownscaleFactor)
    }
}
