#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file.
///
/// Mapping (rather than reading) lets multi-gigabyte checkpoints and models be
/// touched one tensor at a time: only the pages actually read become resident,
/// and `release(_:)` hands them back to the kernel once a tensor is consumed.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    private let base: UnsafeRawPointer?
    /// In-memory copies own their buffer instead of a mapping.
    private let ownsHeapCopy: Bool

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MappedFileError.cannotOpen(path: path, reason: MappedFile.errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MappedFileError.cannotOpen(path: path, reason: MappedFile.errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw MappedFileError.notARegularFile(path: path) }
        count = Int(info.st_size)
        ownsHeapCopy = false
        if count == 0 {
            base = nil
        } else {
            let address = mmap(nil, count, PROT_READ, MAP_SHARED, fd, 0)
            guard let address, address != MAP_FAILED else {
                throw MappedFileError.cannotMap(path: path, reason: MappedFile.errnoText())
            }
            base = UnsafeRawPointer(address)
        }
    }

    /// A copy of `bytes` behind the same API, for parsing data that is not
    /// in a file (fuzzing, network uploads).
    public init(copying bytes: UnsafeRawBufferPointer, name: String = "<memory>") {
        path = name
        count = bytes.count
        ownsHeapCopy = true
        if bytes.isEmpty {
            base = nil
        } else {
            let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 4096)
            copy.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            base = UnsafeRawPointer(copy)
        }
    }

    deinit {
        guard let base else { return }
        if ownsHeapCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
    }

    /// The bytes in `range`, which must lie inside the file.
    public func bytes(_ range: Range<Int>) throws -> UnsafeRawBufferPointer {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw MappedFileError.outOfBounds(path: path, range: range, fileSize: count)
        }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Copies `range` out of the map.
    public func data(_ range: Range<Int>) throws -> [UInt8] {
        Array(try bytes(range))
    }

    /// Tells the kernel the pages of `range` are no longer needed, so a streamed
    /// tensor does not stay resident after use. Clean file-backed pages are
    /// simply dropped and re-read from disk if touched again.
    public func release(_ range: Range<Int>) {
        guard let base, !ownsHeapCopy, range.lowerBound >= 0, range.upperBound <= count, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound / page) * page
        let end = range.upperBound
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// Starts asynchronous read-ahead of `range` (no effect on a heap copy).
    public func willNeed(_ range: Range<Int>) {
        guard let base, !ownsHeapCopy, range.lowerBound >= 0, range.upperBound <= count, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound / page) * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), range.upperBound - start, Int32(MADV_WILLNEED))
    }

    /// Hints sequential access so the kernel reads ahead aggressively.
    public func adviseSequential() {
        guard let base, !ownsHeapCopy else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), count, Int32(MADV_SEQUENTIAL))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

public enum MappedFileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case notARegularFile(path: String)
    case cannotMap(path: String, reason: String)
    case outOfBounds(path: String, range: Range<Int>, fileSize: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open \(path): \(reason)"
        case let .notARegularFile(path): return "\(path) is not a regular file"
        case let .cannotMap(path, reason): return "cannot map \(path): \(reason)"
        case let .outOfBounds(path, range, size):
            return "\(path): read of bytes \(range.lowerBound)..<\(range.upperBound) is outside the file (\(size) bytes)"
        }
    }
}
