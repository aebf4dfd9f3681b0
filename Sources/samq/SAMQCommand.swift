import ArgumentParser
#if os(Linux) && canImport(Glibc)
import Glibc

/// glibc's `mallopt` (malloc.h is not in Swift's Glibc module).
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let mmapThresholdParameter: Int32 = -3   // M_MMAP_THRESHOLD
#endif

/// `samq`: the board-side runtime.
@main
struct SAMQCommand: ParsableCommand {
    static func main() {
        #if os(Linux) && canImport(Glibc)
        // A fixed mmap threshold: glibc otherwise raises it after each large
        // free, so the encoders' many short-lived multi-MB buffers come from
        // the heap and freed memory stays resident (vit_t encode: +12 MB peak RSS).
        _ = mallopt(mmapThresholdParameter, 256 * 1024)
        #endif
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "samq",
        abstract: "Segment Anything, quantized, on small boards.",
        version: "0.1.0",
        subcommands: [InfoCommand.self, EncodeCommand.self, SegmentCommand.self, EverythingCommand.self, BenchCommand.self, EvalCommand.self])
}

/// Options every compute command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(help: "Memory budget, e.g. 512MB or 2GB: keeps encoder weights resident if they fit, else streams them block by block, else refuses.")
    var memoryBudget: String?

    @Flag(help: "Print nothing but errors and the requested output.")
    var quiet = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let memoryBudget { _ = try MemoryBudget(parsing: memoryBudget) }
    }
}
