/// Resource bounds for the unpickler. A real SAM state dict (vit_h: ~600
/// tensors, a few hundred KB of pickle) stays far below every one; a hostile
/// pickle hits one of them and gets an error instead of exhausting memory.
struct PickleLimits {
    /// Values on the stack at once.
    var maxStack = 1 << 20
    /// Entries in the memo.
    var maxMemo = 1 << 20
    /// Items in one tuple, list or dict.
    var maxContainerItems = 1 << 20
    /// MARK nesting and container nesting.
    var maxDepth = 100
    /// Values created over the whole pickle.
    var maxObjects = 1 << 21
    /// Items stored in all containers and tensor shapes together. Bounds memory
    /// even when one big memoized tuple is re-used by many REDUCEs.
    var maxTotalItems = 1 << 22
    /// Dimensions of one tensor.
    var maxDims = 64
    /// Length of a GLOBAL module or name line.
    var maxGlobalLine = 256

    static let standard = PickleLimits()
}
