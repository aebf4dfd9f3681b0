import Foundation
import XCTest
@testable import SAMQRuntime

final class Int8ThreadPoolTests: XCTestCase {
    func testRunsEveryTaskExactlyOnce() {
        for threads in [1, 2, 3, 5] {
            let pool = ThreadPool(threads: threads)
            for count in [0, 1, 2, 7, 1000] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                hits.initialize(repeating: 0, count: max(count, 1))
                let workers = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                pool.parallelFor(count: count) { task, worker in
                    hits[task] += 1
                    workers[task] = worker
                }
                for t in 0..<count {
                    XCTAssertEqual(hits[t], 1, "threads \(threads) count \(count) task \(t)")
                    XCTAssertTrue((0..<threads).contains(workers[t]))
                }
                hits.deallocate()
                workers.deallocate()
            }
        }
    }

    /// A worker that starts after a job was published joins that job. The
    /// pool's threads start in `init`, and its first `parallelFor` can come
    /// before they wait for work: they used to wait for the next job, and the
    /// caller ran the whole first job alone. Here task 0 (the caller's) waits
    /// until task 1 has run elsewhere.
    func testAWorkerStartingLateJoinsTheRunningJob() {
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 2)
            let lock = Lock()
            var otherWorker = -1
            pool.parallelFor(count: 2) { task, worker in
                if task == 1 {
                    lock.withLock { otherWorker = worker }
                    return
                }
                let deadline = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
                while lock.withLock({ otherWorker }) < 0 && DispatchTime.now().uptimeNanoseconds < deadline {
                    usleep(100)
                }
            }
            XCTAssertEqual(otherWorker, 1, "task 1 ran on the caller after the wait timed out")
        }
    }

    func testNestedCallRunsInline() {
        let pool = ThreadPool(threads: 2)
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 16)
        hits.initialize(repeating: 0, count: 16)
        pool.parallelFor(count: 4) { outer, _ in
            pool.parallelFor(count: 4) { inner, _ in hits[outer * 4 + inner] += 1 }
        }
        for i in 0..<16 { XCTAssertEqual(hits[i], 1) }
        hits.deallocate()
    }

    func testPoolsComeAndGo() {
        // Workers of a released pool must exit, not leak or crash.
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 3)
            var sum = 0
            let lock = NSLock()
            pool.parallelFor(count: 10) { t, _ in lock.lock(); sum += t; lock.unlock() }
            XCTAssertEqual(sum, 45)
        }
    }

    /// `Parallel.map` returns every task's result in task order, also when
    /// called from inside a pool loop (where it runs inline).
    func testParallelMapKeepsTaskOrder() {
        let expected = (0..<5).map { task in (0..<(task + 1) * 100).map { Float($0 * (task + 1)) } }
        XCTAssertEqual(Parallel.map(tasks: 5) { task in (0..<(task + 1) * 100).map { Float($0 * (task + 1)) } }, expected)
        XCTAssertEqual(Parallel.map(tasks: 0) { _ in [1] }, [])
        let nested = Parallel.map(tasks: 2) { outer in
            Parallel.map(tasks: 3) { [Float(outer * 10 + $0)] }.flatMap { $0 }
        }
        XCTAssertEqual(nested, [[0, 1, 2], [10, 11, 12]])
    }
}
