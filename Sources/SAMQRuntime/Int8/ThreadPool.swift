#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A persistent pool of worker threads for the int8 compute loops.
///
/// Why not `DispatchQueue.concurrentPerform`: the encoder issues hundreds of
/// parallel loops per image, each a few milliseconds long; long-lived workers
/// that sleep on one condition variable dispatch with a single broadcast and
/// no per-call allocation, and their fixed `worker` index lets callers keep
/// per-worker scratch without locks (see `Int8Benchmarks` for the measured
/// dispatch cost of both).
///
/// Between jobs the threads spin for a moment before sleeping (see
/// `PoolState.spinBudget`): a mask decode is ~20 parallel loops of 0.1–1 ms
/// with serial token work between them, and waking a sleeping thread took
/// long enough that the caller had claimed most of a short loop's tasks
/// before its partner arrived.
///
/// Determinism: tasks are claimed dynamically (for load balance), but a task
/// index always denotes the same output tile computed by the same kernel, so
/// results never depend on the thread count or on which thread ran a task.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that run tasks, counting the calling thread.
    public let threads: Int
    private let state: PoolState

    /// The process-wide pool, sized by `ComputeThreads.count` at first use
    /// (one thread per active processor unless `--threads` changed it).
    public static let shared = ThreadPool(threads: ComputeThreads.count)

    /// Starts `threads - 1` background workers; the caller of `parallelFor`
    /// is the remaining one.
    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threads = max(1, threads)
        // Spinning only pays when every thread has a core of its own.
        state = PoolState(spinning: self.threads <= ProcessInfo.processInfo.activeProcessorCount)
        // A worker the system refuses to start only costs parallelism: tasks
        // are claimed dynamically, so the others (and the caller) run them.
        for index in 1..<self.threads {
            let state = self.state
            _ = WorkerThread.start { state.workerLoop(index: index) }
        }
    }

    deinit { state.shutdown() }

    /// Runs `body(task, worker)` once for every task in `0..<count` and returns
    /// when all have finished. `worker` is in `0..<threads` and is unique among
    /// concurrently running tasks, so it can index per-worker scratch.
    ///
    /// A call made while the pool is busy (from inside a task, or from another
    /// thread) runs its tasks inline on the calling thread with `worker == 0`;
    /// bodies that use per-worker scratch must therefore not nest.
    public func parallelFor(count: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
        guard count > 0 else { return }
        if threads == 1 || count == 1 || !state.tryBeginSubmission() {
            for task in 0..<count { body(task, 0) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            state.run(count: count, body: escaping)
        }
        state.endSubmission()
    }
}

/// The shared state behind a pool: one mutex, one "work available" and one
/// "work finished" condition. Workers hold a strong reference, the pool does
/// not depend on them, so `deinit` can stop them.
private final class PoolState: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let submission = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let workAvailable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let workFinished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    // All guarded by `mutex`.
    private var body: ((Int, Int) -> Void)?
    private var generation: UInt64 = 0
    private var next = 0
    private var count = 0
    private var inFlight = 0
    private var stopping = false
    /// Mirrors of `generation` and `inFlight`, read without the mutex while
    /// spinning; written under it.
    private let publishedGeneration = Atomic<UInt64>(0)
    private let runningTasks = Atomic<Int>(0)
    private let spinning: Bool

    /// How long an idle thread polls before it sleeps on a condition
    /// variable: long enough to bridge the serial gaps inside a decode, short
    /// enough to cost nothing noticeable once work stops.
    static let spinBudget: UInt64 = 100_000   // ns

    init(spinning: Bool) {
        self.spinning = spinning
        mutex.initialize(to: pthread_mutex_t())
        submission.initialize(to: pthread_mutex_t())
        workAvailable.initialize(to: pthread_cond_t())
        workFinished.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(submission, nil)
        pthread_cond_init(workAvailable, nil)
        pthread_cond_init(workFinished, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_mutex_destroy(submission)
        pthread_cond_destroy(workAvailable)
        pthread_cond_destroy(workFinished)
        mutex.deallocate()
        submission.deallocate()
        workAvailable.deallocate()
        workFinished.deallocate()
    }

    func tryBeginSubmission() -> Bool { pthread_mutex_trylock(submission) == 0 }
    func endSubmission() { pthread_mutex_unlock(submission) }

    /// Publishes a job, works on it as worker 0, and waits until every claimed
    /// task has finished. Workers that wake after the last claim find nothing
    /// to do, so the caller never waits for a sleeping thread to wake up.
    func run(count: Int, body: @escaping (Int, Int) -> Void) {
        pthread_mutex_lock(mutex)
        self.body = body
        self.count = count
        next = 0
        generation &+= 1
        publishedGeneration.store(generation, ordering: .releasing)
        pthread_cond_broadcast(workAvailable)
        drain(worker: 0, body: body)
        if inFlight > 0 && spinning {
            pthread_mutex_unlock(mutex)
            spin(until: { runningTasks.load(ordering: .acquiring) == 0 })
            pthread_mutex_lock(mutex)
        }
        while inFlight > 0 { pthread_cond_wait(workFinished, mutex) }
        self.body = nil
        self.count = 0
        pthread_mutex_unlock(mutex)
    }

    /// Claims and runs tasks until none is left. Called with `mutex` held;
    /// returns with it held.
    private func drain(worker: Int, body: (Int, Int) -> Void) {
        while next < count {
            let task = next
            next += 1
            inFlight += 1
            runningTasks.store(inFlight, ordering: .releasing)
            pthread_mutex_unlock(mutex)
            body(task, worker)
            pthread_mutex_lock(mutex)
            inFlight -= 1
            runningTasks.store(inFlight, ordering: .releasing)
        }
        if inFlight == 0 { pthread_cond_broadcast(workFinished) }
    }

    func workerLoop(index: Int) {
        pthread_mutex_lock(mutex)
        // Generation 0 is "no job yet": a worker that starts while a job is
        // already running (the pool is created by its first `parallelFor`,
        // and thread start-up takes longer than publishing the job) joins
        // it. Starting at the current generation, it waited for the next
        // one, and the caller ran the whole first job alone: SamPredictor's
        // concurrent build, the first loop of every process.
        var seen: UInt64 = 0
        while true {
            if generation == seen && !stopping && spinning {
                pthread_mutex_unlock(mutex)
                spin(until: { publishedGeneration.load(ordering: .acquiring) != seen })
                pthread_mutex_lock(mutex)
            }
            while generation == seen && !stopping { pthread_cond_wait(workAvailable, mutex) }
            if stopping { break }
            seen = generation
            if let body { drain(worker: index, body: body) }
        }
        pthread_mutex_unlock(mutex)
    }

    /// Polls `done` until it holds or `spinBudget` has passed. Only a hint:
    /// callers re-check their condition under the mutex afterwards.
    private func spin(until done: () -> Bool) {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            for _ in 0..<64 where done() { return }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let elapsed = (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec)
            if elapsed >= Int(Self.spinBudget) { return }
            // Give the core away if anything else wants it: a spinning thread
            // must not delay the caller or another process on a busy machine.
            sched_yield()
        }
    }

    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(workAvailable)
        pthread_mutex_unlock(mutex)
    }
}
