/// The embedding cache: images by id, least recently used first out, within a
/// byte budget (decoded pixels plus embedding per image).
///
/// Images still queued or encoding are never evicted; they count against the
/// budget from the moment they are accepted, and the encoder queue's length is
/// bounded, so pending work cannot grow memory without limit.
final class ImageStore: @unchecked Sendable {
    let budgetBytes: Int
    private struct State {
        var entries: [ImageID: ImageEntry] = [:]
        /// Least recently used first.
        var order: [ImageID] = []
        var bytes = 0
    }
    private let state = Locked(State())

    init(budgetBytes: Int) { self.budgetBytes = budgetBytes }

    /// The entry for `id`, marked as just used.
    func entry(_ id: ImageID) -> ImageEntry? {
        state.withLock { s in
            guard let entry = s.entries[id] else { return nil }
            s.order.removeAll { $0 == id }
            s.order.append(id)
            return entry
        }
    }

    /// Inserts `entry` unless an entry with its id exists; returns the entry in
    /// the store and whether it is the new one. Evicts settled entries, least
    /// recently used first, to make room; the new entry itself is always kept.
    func insert(_ entry: ImageEntry) -> (entry: ImageEntry, isNew: Bool) {
        state.withLock { s in
            if let existing = s.entries[entry.id] {
                s.order.removeAll { $0 == entry.id }
                s.order.append(entry.id)
                return (existing, false)
            }
            s.entries[entry.id] = entry
            s.order.append(entry.id)
            s.bytes += entry.bytes
            Self.evict(&s, budget: budgetBytes, keeping: entry.id)
            return (entry, true)
        }
    }

    /// Drops an entry whose encode failed, so a new upload retries it.
    func remove(_ id: ImageID) {
        state.withLock { s in
            guard let entry = s.entries.removeValue(forKey: id) else { return }
            s.order.removeAll { $0 == id }
            s.bytes -= entry.bytes
        }
    }

    /// Evicts what the budget no longer holds (call when an encode settles).
    func trim() {
        state.withLock { s in Self.evict(&s, budget: budgetBytes, keeping: nil) }
    }

    var count: Int { state.withLock { $0.entries.count } }
    var bytes: Int { state.withLock { $0.bytes } }

    /// Evicts settled entries, least recently used first, until the budget holds.
    /// The most recently used entry always stays, even alone over the budget, so
    /// the image a user is working on never vanishes under them.
    private static func evict(_ s: inout State, budget: Int, keeping kept: ImageID?) {
        var index = 0
        while s.bytes > budget, index < s.order.count - 1 {
            let id = s.order[index]
            guard id != kept, let entry = s.entries[id], entry.phase.isSettled, !entry.isBusyWithEverything else {
                index += 1
                continue
            }
            s.entries.removeValue(forKey: id)
            s.order.remove(at: index)
            s.bytes -= entry.bytes
        }
    }
}

extension ImageEntry {
    /// An everything run needs the entry's image until it finishes.
    var isBusyWithEverything: Bool {
        switch everything {
        case .queued, .running: return true
        case .none, .done, .failed: return false
        }
    }
}
