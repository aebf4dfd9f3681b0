#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Thread settings and the one helper every parallel loop goes through.
///
/// Work is always split into tasks whose arithmetic does not depend on which
/// thread runs them, so results are bit-identical for any thread count.
public enum ComputeThreads {
    private static let lock = Lock()
    nonisolated(unsafe) private static var configured: Int = ProcessInfo.processInfo.activeProcessorCount

    /// The most worker threads a process uses. Far above any board or
    /// workstation's cores; what it bounds is a typo such as `--threads 100000`,
    /// which made the pool start threads until memory ran out.
    public static let maximum = 256

    /// Number of worker threads for the compute loops (default: one per core),
    /// clamped to `1...maximum`.
    public static var count: Int {
        get { lock.lock(); defer { lock.unlock() }; return configured }
        set { lock.lock(); configured = min(maximum, max(1, newValue)); lock.unlock() }
    }
}

enum Parallel {
    /// Runs `body(task, worker)` for every task in `0..<tasks` on up to
    /// `ComputeThreads.count` workers. Tasks are handed out dynamically (a shared
    /// counter), so a worker slowed by other processes does not hold up the rest;
    /// `worker` (0..<workerCount) indexes per-worker scratch memory.
    ///
    /// The workers are `ThreadPool.shared`'s threads, the ones the int8
    /// kernels run on: with a second set (GCD's) the two competed for the
    /// same cores, and a decode alternates between both kinds of loop. Called
    /// while the pool is busy (nested, or from another thread), the loop runs
    /// on the calling thread.
    static func forEach(tasks: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
        guard tasks > 0 else { return }
        let workers = workerCount(tasks: tasks)
        if workers == 1 {
            for t in 0..<tasks { body(t, 0) }
            return
        }
        let counter = TaskCounter()
        // Each pool task is one virtual worker draining the counter, so `w`
        // stays below `workers` whatever the pool's size.
        ThreadPool.shared.parallelFor(count: workers) { w, _ in
            while let t = counter.next(below: tasks) { body(t, w) }
        }
    }

    /// `[body(0), body(1), ...]` for `tasks` independent computations, run
    /// as tasks of `forEach`: the decoder's token-side products (a few rows
    /// against weights that stream from memory) share that stream between
    /// the cores. Each result is the same computation wherever it runs.
    static func map(tasks: Int, _ body: (_ task: Int) -> [Float]) -> [[Float]] {
        var results = [[Float]](repeating: [], count: tasks)
        results.withUnsafeMutableBufferPointer { buffer in
            guard let out = buffer.baseAddress else { return }
            forEach(tasks: tasks) { task, _ in out[task] = body(task) }
        }
        return results
    }

    /// Number of workers `forEach` will use for `tasks` tasks.
    static func workerCount(tasks: Int) -> Int { max(1, min(ComputeThreads.count, tasks)) }
}

/// The next unclaimed task index, shared by the workers of one `forEach`.
private final class TaskCounter: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0

    func next(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}
