#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Removes `AtomicFile`'s temporary files when the process is stopped by a
/// signal (Ctrl-C, `kill`, a closed terminal). Without it, interrupting a
/// conversion left a hidden `.model.samq.tmp-…` of up to the model's size
/// behind, which a small board's SD card cannot spare and a user cannot see.
///
/// Opt-in per process (`removeOnTermination()`), because a library should not
/// take signals over: the command-line tools call it, `samq serve` keeps its
/// own graceful shutdown.
public enum TemporaryFileCleanup {
    /// Installs handlers for SIGINT, SIGTERM and SIGHUP that unlink every live
    /// temporary file, then let the signal end the process as it would have.
    /// A signal the process was started ignoring (`nohup`, a background job's
    /// SIGINT) stays ignored.
    public static func removeOnTermination() {
        LiveTemporaryFiles.prepare()
        for number in [SIGINT, SIGTERM, SIGHUP] {
            let previous = signal(number, removeTemporaryFilesAndRaise)
            if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                _ = signal(number, SIG_IGN)
            }
        }
    }
}

/// The handler may only use async-signal-safe calls: it walks raw memory
/// (no locks, no allocation, no reference counting) and calls `unlink`.
private func removeTemporaryFilesAndRaise(_ number: Int32) {
    LiveTemporaryFiles.unlinkAll()
    _ = signal(number, SIG_DFL)
    raise(number)
}

/// The paths of the temporary files that exist right now, in fixed slots of
/// raw memory that a signal handler can read. Registering and unregistering
/// take a mutex; the handler does not (at worst it sees a slot mid-update and
/// its `unlink` fails).
enum LiveTemporaryFiles {
    static let slotCount = 64
    static let slotBytes = 4096
    // Constant-initialized, so reading them in the handler never runs a lazy initializer.
    nonisolated(unsafe) private static var paths: UnsafeMutablePointer<CChar>? = nil
    nonisolated(unsafe) private static var used: UnsafeMutablePointer<UInt8>? = nil
    nonisolated(unsafe) private static var mutex = pthread_mutex_t()

    /// Allocates the slots (once), before any handler can read them.
    static func prepare() {
        withMutex {
            guard paths == nil else { return }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotBytes)
            buffer.initialize(repeating: 0, count: slotCount * slotBytes)
            let flags = UnsafeMutablePointer<UInt8>.allocate(capacity: slotCount)
            flags.initialize(repeating: 0, count: slotCount)
            used = flags
            paths = buffer
        }
    }

    /// Records `path`; returns its slot, or nil when cleanup is off, the
    /// slots are full or the path is too long (the file is then only removed
    /// by the usual `abandon`).
    static func register(_ path: String) -> Int? {
        let bytes = Array(path.utf8)
        guard bytes.count < slotBytes else { return nil }
        return withMutex { () -> Int? in
            guard let paths, let used else { return nil }
            guard let slot = (0..<slotCount).first(where: { used[$0] == 0 }) else { return nil }
            let start = paths + slot * slotBytes
            for (i, byte) in bytes.enumerated() { start[i] = CChar(bitPattern: byte) }
            start[bytes.count] = 0
            used[slot] = 1
            return slot
        }
    }

    static func unregister(_ slot: Int) {
        withMutex { used?[slot] = 0 }
    }

    static func unlinkAll() {
        guard let paths, let used else { return }
        for slot in 0..<slotCount where used[slot] != 0 {
            unlink(paths + slot * slotBytes)
        }
    }

    private static func withMutex<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
