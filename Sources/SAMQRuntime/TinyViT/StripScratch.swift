/// Working buffers the strip-wise layers reuse from strip to strip and
/// block to block, instead of allocating (and page-faulting) a few MB per
/// strip. Grow-only, one per encoder; not for concurrent use (the encoder
/// serializes its encodes).
final class StripScratch {
    enum Slot: Int, CaseIterable {
        case expanded, middle, depthwise, stemSlice, localStrip, localResult
        case attentionBand, attentionNormed, attentionQKV, attentionOutput, attentionBias, attentionWorkers, mlpNormed, mlpHidden, mlpWorkers, stemHalf, stemColumns
    }
    private var buffers: [UnsafeMutablePointer<Float>?] = Array(repeating: nil, count: Slot.allCases.count)
    private var capacities = [Int](repeating: 0, count: Slot.allCases.count)

    /// At least `count` floats (contents undefined), valid until the slot is asked for again.
    func floats(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if capacities[i] < count || buffers[i] == nil {
            buffers[i]?.deallocate()
            buffers[i] = .allocate(capacity: max(count, 1))
            capacities[i] = max(count, 1)
        }
        return buffers[i]!
    }

    /// Frees every buffer (stage 0's are the largest; later stages need less).
    func release() {
        for i in buffers.indices { buffers[i]?.deallocate(); buffers[i] = nil; capacities[i] = 0 }
    }

    deinit { for buffer in buffers { buffer?.deallocate() } }
}
