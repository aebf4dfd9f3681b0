#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQImage
import SAMQRuntime

/// One uploaded image and the life of its embedding: queued → encoding → ready
/// (or failed), plus the state of its last segment-everything run.
///
/// Written by the encoder thread, read by request tasks: all state sits behind
/// one lock, and tasks waiting for a phase change park as continuations.
final class ImageEntry: @unchecked Sendable {
    enum Phase: Sendable {
        case queued
        case encoding(done: Int, total: Int)
        case ready(embedding: [Float], encodeMilliseconds: Double)
        case failed(String)

        var name: String {
            switch self {
            case .queued: return "queued"
            case .encoding: return "encoding"
            case .ready: return "ready"
            case .failed: return "failed"
            }
        }
        var isSettled: Bool {
            switch self {
            case .ready, .failed: return true
            case .queued, .encoding: return false
            }
        }
    }

    enum EverythingPhase: Sendable {
        case none
        case queued
        case running(crop: Int, cropCount: Int, batch: Int, batchCount: Int)
        case done(SA1BDocument, milliseconds: Double)
        case failed(String)
    }

    let id: ImageID
    let image: RGBImage
    /// What this entry counts against the cache budget: pixels plus embedding.
    let bytes: Int

    private struct State {
        var phase: Phase = .queued
        var everything: EverythingPhase = .none
        var waiters: [CheckedContinuation<Void, Never>] = []
        var everythingWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Locked(State())

    init(id: ImageID, image: RGBImage, embeddingBytes: Int) {
        self.id = id
        self.image = image
        bytes = image.pixels.count + embeddingBytes
    }

    var phase: Phase { state.withLock { $0.phase } }
    var everything: EverythingPhase { state.withLock { $0.everything } }

    /// Sets the phase and, once settled, wakes every waiter.
    func setPhase(_ phase: Phase) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.phase = phase
            guard phase.isSettled else { return [] }
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func setEverything(_ phase: EverythingPhase) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.everything = phase
            switch phase {
            case .done, .failed:
                defer { s.everythingWaiters.removeAll() }
                return s.everythingWaiters
            case .none, .queued, .running:
                return []
            }
        }
        waiters.forEach { $0.resume() }
    }

    /// Marks an everything run as queued unless one is already queued or running.
    func claimEverything() -> Bool {
        state.withLock { s in
            switch s.everything {
            case .queued, .running: return false
            case .none, .done, .failed:
                s.everything = .queued
                return true
            }
        }
    }

    /// Waits until the embedding is ready or the encode failed; returns the settled phase.
    func settled() async -> Phase {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.phase.isSettled { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return phase
    }

    /// Waits until the current everything run (if any) has finished.
    func everythingSettled() async -> EverythingPhase {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                switch s.everything {
                case .queued, .running:
                    s.everythingWaiters.append(continuation)
                    return false
                case .none, .done, .failed:
                    return true
                }
            }
            if resumeNow { continuation.resume() }
        }
        return everything
    }
}
