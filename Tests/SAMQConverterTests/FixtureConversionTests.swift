import Foundation
import XCTest
import SAMQConverter
import SAMQFormat

/// Conversions of the golden fixtures, which were saved by the official
/// package exactly as the official checkpoints are (`torch.save(state_dict)`).
final class FixtureConversionTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/sam")

    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent(name).path }

    func scratch(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("samq-fixture-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }

    func convert(_ checkpoint: String, weights: ConversionOptions.WeightType, to path: String) throws -> Converter.Report {
        var options = ConversionOptions()
        options.weights = weights
        let source = try CheckpointLoader.open(path: checkpoint)
        return try Converter(options: options).convert(try ConversionInput(checkpoint: source, converterVersion: "test"), to: path)
    }

    /// .pth → f32 .samq → read back: every tensor bit-identical to the
    /// checkpoint, read independently from both the .pth and the .safetensors copy.
    func testF32ConversionOfOfficialCheckpointsIsBitExact() throws {
        for name in ["tiny_a", "tiny_b"] {
            let out = scratch("\(name)-f32.samq")
            let report = try convert(fixture("\(name).pth"), weights: .f32, to: out)
            XCTAssertEqual(report.config.variant, "custom")
            let file = try SAMQFile(path: out)
            XCTAssertEqual(file.metadata.provenance.source, "\(name).pth")
            XCTAssertEqual(file.metadata.provenance.sourceSHA256?.count, 64)
            let pth = try CheckpointLoader.open(path: fixture("\(name).pth"))
            let safetensors = try CheckpointLoader.open(path: fixture("\(name).safetensors"))
            XCTAssertEqual(pth.tensors.count, file.entries.count)
            for entry in file.entries {
                let stored = try file.floats(entry.name)
                XCTAssertEqual(stored, try pth.readFloat32(named: entry.name), entry.name)
                XCTAssertEqual(stored, try safetensors.readFloat32(named: entry.name), entry.name)
            }
        }
    }

    /// Config detection recovers exactly the constructor arguments the fixture script used.
    func testDetectedConfigMatchesTheFixtureManifest() throws {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("manifest.json"))) as? [String: Any]
        let configs = try XCTUnwrap(manifest?["configs"] as? [String: Any])
        for name in ["tiny_a", "tiny_b"] {
            let expected = try XCTUnwrap((configs[name] as? [String: Any])?["config"] as? [String: Any])
            let source = try CheckpointLoader.open(path: fixture("\(name).pth"))
            let config = try ConfigDetector.detect(shapes: Dictionary(uniqueKeysWithValues: source.tensors.map { ($0.name, $0.shape) }))
            let e = config.imageEncoder
            XCTAssertEqual(e.imgSize, expected["img_size"] as? Int)
            XCTAssertEqual(e.patchSize, expected["patch_size"] as? Int)
            XCTAssertEqual(e.embedDim, expected["embed_dim"] as? Int)
            XCTAssertEqual(e.depth, expected["depth"] as? Int)
            XCTAssertEqual(e.numHeads, expected["num_heads"] as? Int)
            XCTAssertEqual(e.windowSize, expected["window_size"] as? Int)
            XCTAssertEqual(e.globalAttnIndexes, expected["global_attn_indexes"] as? [Int])
            XCTAssertEqual(e.outChans, expected["out_chans"] as? Int)
            XCTAssertEqual(config.maskDecoder.transformerMlpDim, expected["decoder_mlp_dim"] as? Int)
            XCTAssertEqual(config.maskDecoder.iouHeadHiddenDim, expected["iou_head_hidden_dim"] as? Int)
            XCTAssertEqual(config.promptEncoder.maskInChans, expected["mask_in_chans"] as? Int)
        }
    }

    /// The Hugging Face copy converts to the same .samq tensors as the official file.
    func testHuggingFaceCheckpointConvertsLikeTheOfficialOne() throws {
        let official = try SAMQFile(path: { let p = scratch("hf-ref.samq"); _ = try convert(fixture("tiny_a.pth"), weights: .int8, to: p); return p }())
        let hfPath = scratch("hf.samq")
        _ = try convert(fixture("hf_tiny_a/model.safetensors"), weights: .int8, to: hfPath)
        let hf = try SAMQFile(path: hfPath)
        XCTAssertEqual(hf.config, official.config)
        for entry in official.entries {
            XCTAssertEqual(try hf.rawBytes(of: entry.name), try official.rawBytes(of: entry.name), entry.name)
        }
    }

    /// A full disk is a clear error; nothing partial is left and an existing
    /// output is untouched. Needs root to mount a tiny tmpfs (CI runs as root).
    func testFullDiskIsAClearErrorAndLeavesNothing() throws {
        let mountPoint = scratch("tinyfs")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mountPoint]) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (not root?)")
        }
        defer { _ = run("/bin/umount", [mountPoint]) }
        let target = mountPoint + "/model.samq"
        try Data("old model".utf8).write(to: URL(fileURLWithPath: target))
        XCTAssertThrowsError(try convert(fixture("tiny_a.pth"), weights: .f32, to: target)) { error in
            XCTAssertTrue("\(error)".contains("disk is full"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "old model")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint), ["model.samq"])
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
