import ArgumentParser

/// `samq`: the board-side runtime.
@main
struct SAMQCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "samq",
        abstract: "Segment Anything, quantized, on small boards.",
        version: "0.1.0",
        subcommands: [InfoCommand.self, EncodeCommand.self, SegmentCommand.self, EverythingCommand.self])
}

/// Options every compute command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(help: "Memory budget, e.g. 512MB or 2GB: picks streaming or resident weights.")
    var memoryBudget: String?

    @Flag(help: "Print nothing but errors and the requested output.")
    var quiet = false
}
