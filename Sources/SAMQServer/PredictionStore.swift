import SAMQRuntime

/// A finished prediction, kept for mask downloads and for refinement (its
/// low-res logits fed back as the next request's mask input).
struct StoredPrediction: Sendable {
    let id: String
    let image: ImageID
    let width: Int
    let height: Int
    /// One COCO-layout RLE per mask: a 1024×768 mask is a few hundred bytes instead of 786 KB.
    let masks: [MaskRLE]
    let iouPredictions: [Float]
    let lowResSize: Int
    /// `masks.count × lowResSize²` logits, as the decoder returned them.
    let lowResLogits: [Float]

    func logits(mask index: Int) -> [Float] {
        let n = lowResSize * lowResSize
        return Array(lowResLogits[(index * n)..<((index + 1) * n)])
    }
}

/// The most recent predictions, oldest dropped first; ids are never reused.
final class PredictionStore: @unchecked Sendable {
    private struct State {
        var next = 1
        var items: [(id: String, prediction: StoredPrediction)] = []
    }
    private let state = Locked(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Stores a prediction built from a fresh id.
    func add(_ make: (String) -> StoredPrediction) -> StoredPrediction {
        state.withLock { s in
            let prediction = make("p\(s.next)")
            s.next += 1
            s.items.append((prediction.id, prediction))
            if s.items.count > capacity { s.items.removeFirst(s.items.count - capacity) }
            return prediction
        }
    }

    func get(_ id: String) -> StoredPrediction? {
        state.withLock { s in s.items.first { $0.id == id }?.prediction }
    }
}
