import Dispatch
import SAMQFormat

/// The streaming encoder's weights: block `i + 1` is built (its tensors
/// decompressed, checksummed and staged) on a background thread while block
/// `i` computes, into the other of two arena slots sized for the largest
/// block. Once a block has run, the mapped pages it still borrowed are
/// returned to the kernel, so resident weight memory is two blocks.
///
/// Blocks must be requested in order, each after the previous one has
/// finished computing (its slot is then reused for the block after next).
final class EncoderBlockStream {
    typealias Builder = (_ index: Int, _ slot: Int) throws -> Staged

    struct Staged {
        var block: EncoderBlock
        /// Mapped tensors the block reads in place, released after it runs.
        var borrowed: [TensorEntry]
    }

    private let depth: Int
    /// False for providers not known to be safe to read from two threads:
    /// blocks are then built inline when requested.
    private let background: Bool
    private let build: Builder
    private let release: ([TensorEntry]) -> Void
    private let queue = DispatchQueue(label: "samq.encoder.block-prefetch", qos: .userInitiated)
    private var pending: (index: Int, done: DispatchSemaphore, outcome: Outcome)?
    private var inUse: [TensorEntry] = []
    /// Nanoseconds the encoder waited for block weights (0 when the
    /// background decode always finished first).
    private(set) var waitNanoseconds: UInt64 = 0

    init(depth: Int, background: Bool = true, release: @escaping ([TensorEntry]) -> Void = { _ in },
         build: @escaping Builder) {
        self.depth = depth
        self.background = background
        self.release = release
        self.build = build
    }

    /// Streams the blocks of a `.samq` file through two arena slots.
    convenience init(file: SAMQFile, config: ModelConfig, context: Int8Context?,
                     attention: EncoderAttentionPrecision = .int8) throws {
        let depth = config.imageEncoder.depth
        var byBlock = [[TensorEntry]](repeating: [], count: depth)
        for entry in file.entries {
            if let index = EncoderBlockNames.blockIndex(of: entry.name), index < depth { byBlock[index].append(entry) }
        }
        let slotBytes = byBlock.map(StagedWeights.arenaBytes(for:)).max() ?? 0
        let slots = [AlignedBuffer(byteCount: slotBytes), AlignedBuffer(byteCount: slotBytes)]
        // Builds run one at a time (serial queue, or inline after `finish`).
        let decompression = try Zstd.DecompressionContext()
        self.init(depth: depth, release: { $0.forEach(file.release) }) { index, slot in
            if index + 1 < depth { file.prefetch(byBlock[index + 1]) }
            let staged = try StagedWeights(file: file, entries: byBlock[index], arena: slots[slot], context: decompression)
            let block = try EncoderBlock(weights: staged, index: index, config: config, context: context,
                                         attention: attention)
            return Staged(block: block, borrowed: staged.borrowedEntries)
        }
    }

    /// Starts building block `index` in the background.
    func prefetch(_ index: Int) {
        guard background, index < depth, pending == nil else { return }
        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        let build = self.build
        pending = (index, done, outcome)
        queue.async {
            outcome.result = Result { try build(index, index % 2) }
            done.signal()
        }
    }

    /// Block `index`, ready to run. Releases the previous block's borrowed
    /// pages and starts the next block's decode before returning.
    func block(_ index: Int) throws -> EncoderBlock {
        release(inUse)
        inUse = []
        let start = DispatchTime.now().uptimeNanoseconds
        let result: Result<Staged, Error>
        if let pending, pending.index == index {
            pending.done.wait()
            result = pending.outcome.result ?? .failure(SAMRuntimeError.invalidConfig("block \(index) was not built"))
            self.pending = nil
        } else {
            finish()
            result = Result { try build(index, index % 2) }
        }
        waitNanoseconds += DispatchTime.now().uptimeNanoseconds - start
        let staged = try result.get()
        inUse = staged.borrowed
        prefetch(index + 1)
        return staged.block
    }

    /// Waits for any background decode and releases what is still borrowed.
    /// Must run before the arena can go away (`deinit` calls it too).
    func finish() {
        if let pending {
            pending.done.wait()
            if case let .success(staged)? = pending.outcome.result { release(staged.borrowed) }
            self.pending = nil
        }
        release(inUse)
        inUse = []
    }

    deinit { finish() }

    private final class Outcome: @unchecked Sendable {
        var result: Result<Staged, Error>?
    }
}

/// Which encoder block a tensor belongs to, by its official name.
enum EncoderBlockNames {
    static let prefix = "image_encoder.blocks."

    static func blockIndex(of name: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count).prefix { $0.isNumber }
        guard !digits.isEmpty, name.dropFirst(prefix.count + digits.count).first == "." else { return nil }
        return Int(digits)
    }
}
