/// Where the generator is, for progress reports.
public struct EverythingProgress: Sendable {
    public var crop: Int
    public var cropCount: Int
    public var batch: Int
    public var batchCount: Int
}

/// Masks plus the time spent in each stage.
public struct EverythingResult: Sendable {
    public var masks: [GeneratedMask]
    public var timings: EverythingTimings
}

/// Wall-clock seconds per stage. Points of a batch are decoded and scored
/// concurrently, so each batch's wall time is split between `decoder` (prompt
/// encoder + mask decoder) and `maskScoring` in proportion to the per-point busy
/// times of the two.
public struct EverythingTimings: Sendable, Equatable {
    public var encoder: Double = 0
    public var decoder: Double = 0
    /// Upscaling, stability scores, boxes, RLE encoding.
    public var maskScoring: Double = 0
    /// NMS and small-region postprocessing.
    public var filtering: Double = 0
    public var total: Double = 0
}
