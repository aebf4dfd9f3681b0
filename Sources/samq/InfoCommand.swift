import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat
import SAMQCLISupport

/// `samq info MODEL.samq [--json] [--verify]`
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a .samq file's model config, tensors and provenance.")

    @Argument(help: "The .samq model.")
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Decompress every tensor and check its checksum.")
    var verify = false

    func run() throws {
        let file = try SAMQFile(path: model)
        let verified = verify ? try file.verifyAll() : nil
        let summary = ModelSummary(file: file, verifiedTensors: verified)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            summary.printText()
        }
    }
}

/// What `samq info` reports, in one Codable value so text and JSON agree.
struct ModelSummary: Encodable {
    struct Group: Encodable { var dtype: String; var layout: String; var codec: String; var tensors: Int; var storedBytes: Int; var rawBytes: Int }
    var path: String
    var formatVersion: UInt32
    var fileBytes: Int
    var tensorCount: Int
    var model: ModelConfig
    var quantization: SAMQMetadata.Quantization
    var provenance: SAMQMetadata.Provenance
    var groups: [Group]
    var verifiedTensors: Int?

    init(file: SAMQFile, verifiedTensors: Int?) {
        path = file.path
        formatVersion = file.header.version
        fileBytes = file.fileSize
        tensorCount = file.entries.count
        model = file.config
        quantization = file.metadata.quantization
        provenance = file.metadata.provenance
        var byKey: [String: Group] = [:]
        for entry in file.entries {
            let key = "\(entry.dtype) \(entry.layout) \(entry.codec)"
            var group = byKey[key] ?? Group(dtype: "\(entry.dtype)", layout: "\(entry.layout)", codec: "\(entry.codec)",
                                            tensors: 0, storedBytes: 0, rawBytes: 0)
            group.tensors += 1
            group.storedBytes += entry.storedSize
            group.rawBytes += entry.rawSize
            byKey[key] = group
        }
        groups = byKey.keys.sorted().compactMap { byKey[$0] }
        self.verifiedTensors = verifiedTensors
    }

    func printText() {
        let e = model.imageEncoder, d = model.maskDecoder
        print("file         \(path) (\(formatBytes(fileBytes)), format v\(formatVersion))")
        if let t = e.tinyViT, e.isTinyViT {
            print("model        \(model.variant): TinyViT (MobileSAM), stages \(t.embedDims) × depths \(t.depths), heads \(t.numHeads.dropFirst().map { $0 }), windows \(t.windowSizes.dropFirst().map { $0 })")
            print("image        \(e.imgSize) px, stride \(e.patchSize), merge strides \(t.mergeStrides)")
        } else {
            print("model        \(model.variant): ViT \(e.depth) blocks × dim \(e.embedDim), \(e.numHeads) heads, MLP \(e.mlpDim)")
            print("image        \(e.imgSize) px, patch \(e.patchSize), window \(e.windowSize), global blocks \(e.globalAttnIndexes)")
        }
        print("embedding    \(e.outChans)×\(e.gridSize)×\(e.gridSize); decoder dim \(d.transformerDim), \(d.transformerDepth) layers, \(d.numHeads) heads, \(d.numMultimaskOutputs + 1) mask tokens")
        print("weights      \(quantization.weights)" + (quantization.weightScheme.map { " (\($0), activations \(quantization.activations ?? "-"), layout \(quantization.packedLayout ?? "-"))" } ?? ""))
        print("tensors      \(tensorCount)")
        for g in groups {
            print("  \(leftAligned(g.dtype, width: 4)) \(leftAligned(g.layout, width: 10)) \(leftAligned(g.codec, width: 5)) \(String(g.tensors).leftPadded(4)) tensors  \(formatBytes(g.storedBytes).leftPadded(9)) stored, \(formatBytes(g.rawBytes).leftPadded(9)) raw")
        }
        var source = "source       \(provenance.source) (\(provenance.sourceFormat))"
        if let bytes = provenance.sourceBytes { source += ", \(formatBytes(bytes))" }
        if let seed = provenance.randomSeed { source += ", seed \(seed)" }
        print(source)
        if let sha = provenance.sourceSHA256 { print("sha256       \(sha)") }
        print("converter    samq-convert \(provenance.converterVersion), \(provenance.createdAt)")
        if let verifiedTensors { print("verified     all \(verifiedTensors) tensor checksums match") }
    }
}
