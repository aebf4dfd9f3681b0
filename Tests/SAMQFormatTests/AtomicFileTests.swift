import Foundation
import XCTest
import SAMQFormat

/// Every writer in SAMQ (models, .npy, PNG) goes through `AtomicFile`.
final class AtomicFileTests: XCTestCase {
    func testReplacesAtomicallyAndLeavesNoTemporaryFile() throws {
        let path = temporaryPath("atomic.bin")
        try AtomicFile.write([1, 2, 3], to: path)
        try AtomicFile.write([4, 5], to: path)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), [4, 5])
        let directory = (path as NSString).deletingLastPathComponent
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: directory).contains { $0.hasPrefix(".atomic.bin.tmp") })
    }

    /// A commit without its directory sync (`publish` syncs each directory
    /// once for several files) still replaces the file.
    func testCommitWithoutDirectorySyncStillReplacesTheFile() throws {
        let path = temporaryPath("deferred-sync.bin")
        try AtomicFile.write([1, 2, 3], to: path)
        try AtomicFile.write([9, 8], to: path, syncingDirectory: false)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), [9, 8])
        AtomicFile.syncDirectory(of: path)
        let directory = (path as NSString).deletingLastPathComponent
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: directory).contains { $0.hasPrefix(".deferred-sync.bin.tmp") })
    }

    func testMissingDirectoryIsAClearError() {
        XCTAssertThrowsError(try AtomicFile.write([1], to: "/nonexistent-samq-dir/x.bin")) { error in
            guard case FileWriteError.cannotWrite(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent-samq-dir/x.bin")
        }
    }

    /// A real ENOSPC on a tiny tmpfs: a clear error, the old file intact, no
    /// temporary file left. Needs root to mount (CI runs as root).
    func testFullDiskKeepsTheOldFile() throws {
        let mountPoint = try mountTinyFilesystem()
        defer { _ = run("/bin/umount", [mountPoint]) }
        let path = mountPoint + "/data.bin"
        try AtomicFile.write([7, 7, 7], to: path)
        XCTAssertThrowsError(try AtomicFile.write([UInt8](repeating: 1, count: 1 << 20), to: path)) { error in
            XCTAssertEqual(error as? FileWriteError, .diskFull(path: path))
            XCTAssertTrue("\(error)".contains("disk is full"))
        }
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), [7, 7, 7])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint), ["data.bin"])
    }

    /// Files published together replace their targets only once all are on
    /// disk: when the second does not fit, the first target keeps its old
    /// bytes too, and no temporary file is left.
    func testPublishedSetIsAllOrNothingOnAFullDisk() throws {
        let mountPoint = try mountTinyFilesystem()
        defer { _ = run("/bin/umount", [mountPoint]) }
        let small = mountPoint + "/small.bin", large = mountPoint + "/large.bin"
        try AtomicFile.publish([try AtomicFile.staged([1], for: small), try AtomicFile.staged([2], for: large)])
        XCTAssertThrowsError(try AtomicFile.publish([try AtomicFile.staged([3, 3], for: small),
                                                     try AtomicFile.staged([UInt8](repeating: 4, count: 1 << 20), for: large)]))
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: small))), [1])
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: large))), [2])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: mountPoint)), ["small.bin", "large.bin"])
        // With room, both are replaced.
        try AtomicFile.publish([try AtomicFile.staged([5], for: small), try AtomicFile.staged([6, 6], for: large)])
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: small))), [5])
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: large))), [6, 6])
    }

    /// A fresh 64 KB tmpfs for a real ENOSPC; the caller unmounts it. Skips
    /// the test where mounting needs root and the tests do not run as root.
    func mountTinyFilesystem() throws -> String {
        let mountPoint = temporaryPath("tinyfs-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint]) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (not root?)")
        }
        return mountPoint
    }

    func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
