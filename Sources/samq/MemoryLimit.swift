#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQCLISupport
import SAMQFormat

/// The memory this process may use: the tightest cgroup limit on its path
/// (v1 `memory.limit_in_bytes` or v2 `memory.max`, parents included) or the
/// physical RAM. What a small board or a container actually offers, so the
/// default mode can follow it without flags.
enum MemoryLimit {
    static func detect() -> (bytes: Int, source: String) {
        var best = (bytes: Int(clamping: ProcessInfo.processInfo.physicalMemory), source: "physical memory")
        if let cgroup = cgroupLimit(), cgroup.bytes < best.bytes { best = cgroup }
        return best
    }

    /// Limits of every cgroup from this process's own up to the root.
    static func cgroupLimit(procSelf: String = "/proc/self/cgroup", root: String = "/sys/fs/cgroup") -> (bytes: Int, source: String)? {
        guard let text = try? String(contentsOfFile: procSelf, encoding: .utf8) else { return nil }
        var best: (bytes: Int, source: String)?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let candidates: [(dir: String, file: String)]
            if fields[1].split(separator: ",").contains("memory") {
                candidates = [(root + "/memory", "memory.limit_in_bytes")]            // v1
            } else if fields[0] == "0" && fields[1].isEmpty {
                candidates = [(root, "memory.max"), (root + "/unified", "memory.max")]   // v2
            } else {
                continue
            }
            for (base, file) in candidates {
                var path = String(fields[2])
                while true {
                    let full = base + (path == "/" ? "" : path) + "/" + file
                    if let limit = readLimit(full), limit < (best?.bytes ?? Int.max) { best = (limit, "cgroup limit (\(full))") }
                    if path == "/" || path.isEmpty { break }
                    path = PathText.deletingLastComponent(path)
                }
            }
        }
        return best
    }

    /// A limit file's value; nil for "max", the v1 "unlimited" sentinel, or unreadable.
    private static func readLimit(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let value = text.trimmingWhitespace()
        guard let bytes = Int(value), bytes > 0, bytes < (1 << 60) else { return nil }
        return bytes
    }
}
