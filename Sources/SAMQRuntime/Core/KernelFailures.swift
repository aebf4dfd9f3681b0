/// Counts C kernel calls that rejected their arguments inside a parallel
/// loop, so the caller can throw once the loop is done (a rejected call is a
/// bug that must surface as an error, not a trap on a worker thread).
final class KernelFailures: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
