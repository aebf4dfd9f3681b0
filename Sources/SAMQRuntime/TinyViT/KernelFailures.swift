#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Counts C kernel calls that rejected their arguments inside a parallel
/// loop, so the caller can throw once the loop is done (a rejected call is a
/// bug that must surface as an error, not a trap on a worker thread).
final class KernelFailures: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}
