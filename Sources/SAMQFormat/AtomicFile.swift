#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old file or the complete new
/// one, never a torn mix: data goes to a temporary file in the same directory,
/// is fsynced, then renamed over the target. Anything not committed is removed,
/// so a failed run (full disk, bad input, crash of the writer) leaves nothing
/// partial behind.
public final class AtomicFile {
    public let path: String
    public let temporaryPath: String
    private var descriptor: Int32
    private var committed = false
    /// Where `TemporaryFileCleanup` can find the temporary file on a signal.
    private var cleanupSlot: Int?
    public private(set) var position = 0

    public init(path: String) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else { throw FileWriteError.cannotWrite(path: path, reason: "not a file name") }
        temporaryPath = (directory.isEmpty ? "" : directory + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // Registered before it exists: a signal in between only makes unlink fail.
        cleanupSlot = LiveTemporaryFiles.register(temporaryPath)
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let error = FileWriteError(path: path, errno: errno)
            releaseCleanupSlot()
            throw error
        }
    }

    private func releaseCleanupSlot() {
        if let slot = cleanupSlot { LiveTemporaryFiles.unregister(slot) }
        cleanupSlot = nil
    }

    deinit { abandon() }

    /// Appends bytes at the current position.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try write(bytes, at: position)
        position += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Writes zeros up to `offset` (the alignment padding between tensors).
    public func pad(to offset: Int) throws {
        guard offset > position else { return }
        try write([UInt8](repeating: 0, count: offset - position))
    }

    /// Writes at an absolute offset without moving the append position.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(path: path, errno: errno)
            }
            done += n
        }
    }

    /// Flushes the data to disk and closes the temporary file without
    /// replacing `path` yet: the first half of `commit`, so that several files
    /// can all reach the disk before any of them replaces its target
    /// (`publish(_:)`). Any number of calls.
    public func prepare() throws {
        guard !committed, descriptor >= 0 else { return }
        if fsync(descriptor) != 0 { throw FileWriteError(path: path, errno: errno) }
        close(descriptor)
        descriptor = -1
    }

    /// Flushes to disk and atomically replaces `path`. With
    /// `syncingDirectory: false` the rename is not yet durable: a later
    /// `syncDirectory(of:)` (or a syncing commit into the same directory)
    /// makes it so, one directory fsync for several files.
    public func commit(syncingDirectory: Bool = true) throws {
        guard !committed else { return }
        try prepare()
        guard rename(temporaryPath, path) == 0 else {
            let error = FileWriteError(path: path, errno: errno)
            unlink(temporaryPath)
            releaseCleanupSlot()
            committed = true
            throw error
        }
        releaseCleanupSlot()
        committed = true
        if syncingDirectory { AtomicFile.syncDirectory(of: path) }
    }

    /// Drops the temporary file; the target is left untouched.
    public func abandon() {
        guard !committed else { return }
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        unlink(temporaryPath)
        releaseCleanupSlot()
        committed = true
    }

    /// One-shot helper for small files (JSON, PNG, NPY); `syncingDirectory` as for `commit`.
    public static func write(_ bytes: [UInt8], to path: String, syncingDirectory: Bool = true) throws {
        let file = try AtomicFile(path: path)
        try file.write(bytes)
        try file.commit(syncingDirectory: syncingDirectory)
    }

    /// `bytes` written and flushed to a temporary file for `path`, which is
    /// not replaced until the file is published (or is dropped with it).
    public static func staged(_ bytes: [UInt8], for path: String) throws -> AtomicFile {
        let file = try AtomicFile(path: path)
        try file.write(bytes)
        try file.prepare()
        return file
    }

    /// Replaces the targets of several files together: each is flushed first,
    /// and only when all of them are on disk are they renamed into place, in
    /// order, then each directory is synced once. A failure before the renames
    /// (a full disk, say) leaves every target untouched, so a command never
    /// leaves a mix of new and old outputs. A rename itself failing part way
    /// (not seen in practice once the data is on disk) drops the rest.
    public static func publish(_ files: [AtomicFile]) throws {
        for file in files { try file.prepare() }
        for file in files { try file.commit(syncingDirectory: false) }
        var synced = Set<String>()
        for file in files where synced.insert(directory(of: file.path)).inserted { syncDirectory(of: file.path) }
    }

    private static func directory(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    }

    /// Makes renames into the directory holding `path` durable.
    public static func syncDirectory(of path: String) {
        let directory = directory(of: path)
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

}

/// Why a file could not be written. Whatever the cause, the target file is
/// untouched and no temporary file is left behind.
public enum FileWriteError: Error, Equatable, CustomStringConvertible {
    case diskFull(path: String)
    case cannotWrite(path: String, reason: String)

    init(path: String, errno code: Int32) {
        if code == ENOSPC || code == EDQUOT {
            self = .diskFull(path: path)
        } else {
            self = .cannotWrite(path: path, reason: String(cString: strerror(code)))
        }
    }

    public var description: String {
        switch self {
        case let .diskFull(path):
            return "cannot write \(path): the disk is full (nothing was written; an existing file is untouched)"
        case let .cannotWrite(path, reason):
            return "cannot write \(path): \(reason) (nothing was written; an existing file is untouched)"
        }
    }
}
