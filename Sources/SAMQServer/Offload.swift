import Dispatch

/// Runs blocking compute (decoding an image, a decoder pass) on a Dispatch
/// queue, not on Swift concurrency's small cooperative pool, which would stall
/// every other request while a thread is busy for many milliseconds.
func offload<T: Sendable>(on queue: DispatchQueue = .global(qos: .userInitiated),
                          _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        queue.async { continuation.resume(with: Result { try work() }) }
    }
}
