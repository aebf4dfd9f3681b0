import SAMQFormat
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic whole-file writes over POSIX calls.
enum FileIO {

    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Reads the whole file, refusing files larger than `maxBytes`. Once the
    /// first `prefixBytes` (or the whole file, if shorter) are in, `inspect`
    /// sees them and may throw, so a file that is plainly no image is refused
    /// before gigabytes of it are read.
    static func readAll(path: String, maxBytes: Int = Int.max, prefixBytes: Int = 1 << 16,
                        inspect: ([UInt8]) throws -> Void = { _ in }) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError.cannotRead(path: path, reason: errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ImageError.cannotRead(path: path, reason: errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ImageError.cannotRead(path: path, reason: "not a regular file")
        }
        guard Int(info.st_size) <= maxBytes else {
            throw ImageError.cannotRead(path: path, reason: "file is \(info.st_size) bytes, over the \(maxBytes)-byte limit for this pixel limit")
        }
        var result: [UInt8] = []
        result.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var inspected = false
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError.cannotRead(path: path, reason: errnoText())
            }
            if n == 0 { break }
            guard result.count + n <= maxBytes else {
                throw ImageError.cannotRead(path: path, reason: "file grew past the \(maxBytes)-byte limit while reading")
            }
            result.append(contentsOf: chunk[0..<n])
            if !inspected && result.count >= prefixBytes {
                inspected = true
                try inspect(result)
            }
        }
        if !inspected { try inspect(result) }
        return result
    }

    /// Writes `bytes` to `path` atomically (see `AtomicFile`): on any failure,
    /// including a full disk, an existing `path` is left untouched.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        try AtomicFile.write(bytes, to: path)
    }
}
