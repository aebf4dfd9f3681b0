/// One result slot per task of a parallel loop. Each slot is written by exactly
/// one task and read only after the loop has joined, so no locking is needed;
/// that contract is why this is `@unchecked Sendable`. The slots live in raw
/// storage so that concurrent writes to different slots never touch a shared
/// Swift array (whose mutation would be a data race even on distinct elements).
final class ResultSlots<Value>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Value?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        _ = storage.deinitialize()
        storage.deallocate()
    }

    subscript(index: Int) -> Value? {
        get { storage[index] }
        set { storage[index] = newValue }
    }
}
