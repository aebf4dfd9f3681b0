import ArgumentParser
import SAMQRuntime

/// `samq`: the board-side runtime.
@main
struct SAMQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samq",
        abstract: "Segment Anything, quantized, on small boards.",
        version: "0.1.0",
        subcommands: [InfoCommand.self, EncodeCommand.self, SegmentCommand.self, EverythingCommand.self, BenchCommand.self, EvalCommand.self,
                      ServeCommand.self])
}

/// Options every compute command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(help: "Memory budget, e.g. 512MB or 2GB: keeps encoder weights resident if they fit, else streams them block by block, else refuses. Default: the cgroup limit or RAM, resident only if that takes at most a quarter of it.")
    var memoryBudget: String?

    @Flag(help: "Print nothing but errors and the requested output.")
    var quiet = false

    /// The given `--memory-budget`, else the detected machine limit.
    func budget() throws -> MemoryBudget {
        try memoryBudget.map { try MemoryBudget(parsing: $0) } ?? .detected()
    }

    func validate() throws {
        if let threads, !(1...ComputeThreads.maximum).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(ComputeThreads.maximum), got \(threads)")
        }
        if let memoryBudget { _ = try MemoryBudget(parsing: memoryBudget) }
    }
}
