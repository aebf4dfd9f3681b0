import Foundation
import XCTest

/// End-to-end checks of the command-line contract (docs/CLI.md): outputs on
/// success, and a clear message with a non-zero exit for every bad input.
final class CLITests: XCTestCase {
    static var model = ""

    override class func setUp() {
        super.setUp()
        model = CLIRunner.scratch("tiny_a.samq")
        _ = try? CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_a.pth"), "-o", model, "--brief"])
    }

    var image: String { CLIRunner.fixture("sam/image.png") }

    func expectFailure(_ tool: String, _ arguments: [String], mentioning text: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLIRunner.run(tool, arguments)
        XCTAssertNotEqual(result.status, 0, "expected failure: \(arguments)", file: file, line: line)
        XCTAssertTrue(result.stderr.localizedCaseInsensitiveContains(text),
                      "stderr should mention '\(text)': \(result.stderr)", file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Fatal error"), "crashed: \(result.stderr)", file: file, line: line)
    }

    func testConvertReportsEveryTensorAndInfoReadsItBack() throws {
        let out = CLIRunner.scratch("report.samq")
        let convert = try CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "-o", out])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        XCTAssertTrue(convert.stdout.contains("image_encoder.blocks.3.mlp.lin2.weight"))
        XCTAssertTrue(convert.stdout.contains("int8 SQNR  worst"))
        XCTAssertTrue(convert.stdout.contains("% of the input"))
        let info = try CLIRunner.run("samq", ["info", out, "--json", "--verify"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["tensorCount"] as? Int, 202)
        XCTAssertEqual(json["verifiedTensors"] as? Int, 202)
        XCTAssertEqual((json["provenance"] as? [String: Any])?["source"] as? String, "tiny_b.pth")
    }

    func testSegmentWritesMasksOverlayAndResult() throws {
        let out = CLIRunner.scratch("segment-out")
        let logits = CLIRunner.scratch("logits.npy")
        let result = try CLIRunner.run("samq", ["segment", Self.model, image, "--point", "92,62", "--point", "30,100,0",
                                                "-o", out, "--logits", logits, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((json["masks"] as? [Any])?.count, 3)
        for file in ["mask_0.png", "mask_1.png", "mask_2.png", "overlay.png", "result.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }
        // The saved logits feed back as a mask input.
        let refine = try CLIRunner.run("samq", ["segment", Self.model, image, "--mask-input", logits, "--mask-input-index", "2",
                                                "--point", "92,62", "--single-mask", "-o", out + "-refined"])
        XCTAssertEqual(refine.status, 0, refine.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "-refined/mask_0.png"))
    }

    func testEncodeThenSegmentWithEmbeddingGivesTheSameMasks() throws {
        let embedding = CLIRunner.scratch("embedding.npy")
        XCTAssertEqual(try CLIRunner.run("samq", ["encode", Self.model, image, "-o", embedding]).status, 0)
        let direct = CLIRunner.scratch("direct"), cached = CLIRunner.scratch("cached")
        XCTAssertEqual(try CLIRunner.run("samq", ["segment", Self.model, image, "--box", "20,10,120,90", "-o", direct]).status, 0)
        XCTAssertEqual(try CLIRunner.run("samq", ["segment", Self.model, image, "--embedding", embedding,
                                                  "--box", "20,10,120,90", "-o", cached]).status, 0)
        for file in ["mask_0.png", "mask_1.png", "mask_2.png"] {
            XCTAssertEqual(FileManager.default.contents(atPath: direct + "/" + file),
                           FileManager.default.contents(atPath: cached + "/" + file), file)
        }
    }

    func testBadPromptsAreClearErrors() throws {
        let out = CLIRunner.scratch("bad")
        try expectFailure("samq", ["segment", Self.model, image, "-o", out], mentioning: "prompt")
        try expectFailure("samq", ["segment", Self.model, image, "--point", "5000,10", "-o", out], mentioning: "outside")
        try expectFailure("samq", ["segment", Self.model, image, "--point", "nan,10", "-o", out], mentioning: "point")
        try expectFailure("samq", ["segment", Self.model, image, "--point", "10,10,7", "-o", out], mentioning: "point")
        try expectFailure("samq", ["segment", Self.model, image, "--box", "100,10,20,90", "-o", out], mentioning: "box")
        let wrongMask = CLIRunner.scratch("wrong-mask.npy")
        XCTAssertEqual(try CLIRunner.run("samq", ["encode", Self.model, image, "-o", wrongMask]).status, 0)
        try expectFailure("samq", ["segment", Self.model, image, "--mask-input", wrongMask, "-o", out], mentioning: "mask input")
    }

    /// A conversion stopped by a signal (Ctrl-C, kill) removes its temporary
    /// file instead of leaving a hidden, model-sized one behind.
    func testInterruptedConversionLeavesNoTemporaryFile() throws {
        let directory = CLIRunner.scratch("interrupted-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = CLIRunner.productsDirectory.appendingPathComponent("samq-convert")
        process.arguments = ["--random", "vit_b", "-o", directory + "/vit_b.samq", "--quiet"]
        try process.run()
        // Wait until the temporary file has data, then stop the conversion.
        let deadline = Date().addingTimeInterval(120)
        var sawTemporary = false
        while process.isRunning && Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            if let name = names.first(where: { $0.hasPrefix(".vit_b.samq.tmp-") }),
               let size = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int, size > 0 {
                sawTemporary = true
                break
            }
            usleep(2_000)
        }
        guard sawTemporary else {
            process.waitUntilExit()
            throw XCTSkip("the conversion finished before it could be interrupted")
        }
        process.terminate()   // SIGTERM
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGTERM)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    /// Absurd sizes are refused up front: before these bounds, both ran out of memory and aborted.
    func testAbsurdThreadAndGridSizesAreClearErrors() throws {
        let out = CLIRunner.scratch("absurd")
        try expectFailure("samq", ["segment", Self.model, image, "--point", "10,10", "--threads", "100000", "-o", out],
                          mentioning: "--threads must be between 1 and 256")
        try expectFailure("samq", ["everything", Self.model, image, "--points-per-side", "100000", "-o", out + ".json"],
                          mentioning: "points per side must be in 1...1024")
        try expectFailure("samq", ["eval", Self.model, "--reference", Self.model, image, "--prompts", "100000000"],
                          mentioning: "--prompts must be between 1 and 10000")
        try expectFailure("samq", ["segment", Self.model, image, "--point", "10,10", "--max-pixels", "0", "-o", out],
                          mentioning: "--max-pixels must be positive")
    }

    func testEmbeddingFromAnotherModelIsRefused() throws {
        let other = CLIRunner.scratch("tiny_b.samq")
        XCTAssertEqual(try CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "-o", other, "--brief"]).status, 0)
        let embedding = CLIRunner.scratch("other-embedding.npy")
        XCTAssertEqual(try CLIRunner.run("samq", ["encode", other, image, "-o", embedding]).status, 0)
        try expectFailure("samq", ["segment", Self.model, image, "--embedding", embedding, "--point", "10,10",
                                   "-o", CLIRunner.scratch("x")], mentioning: "another model")
    }

    /// The decoder storage/precision options reach the file's metadata; bad values are clear errors.
    func testDecoderPrecisionOptions() throws {
        let out = CLIRunner.scratch("decoder-options.samq")
        let convert = try CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "-o", out, "--brief",
                                                         "--decoder-weights", "int8", "--decoder-upscaling", "f32"])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let info = try CLIRunner.run("samq", ["info", out, "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let quantization = try XCTUnwrap(json["quantization"] as? [String: Any], info.stdout)
        XCTAssertEqual(quantization["decoderWeights"] as? String, "int8")
        XCTAssertEqual(quantization["decoderUpscaling"] as? String, "f32")
        try expectFailure("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "-o", out, "--decoder-weights", "int4"],
                          mentioning: "--decoder-weights")
        try expectFailure("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "-o", out, "--decoder-upscaling", "f16"],
                          mentioning: "--decoder-upscaling")
        try expectFailure("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "-o", out, "--decoder-heads", "7"],
                          mentioning: "--decoder-heads 7 does not divide")
        try expectFailure("samq-convert", ["--random", "vit_b", "-o", out, "--decoder-heads", "4"],
                          mentioning: "--decoder-heads 4 conflicts with the 8 heads")
    }

    /// A config file no SAM can have is named as a config error, before any
    /// checkpoint is read, for --config and --random alike; nothing is written.
    func testInvalidConfigFileIsNamed() throws {
        let good = try String(contentsOfFile: CLIRunner.fixture("samq/micro_config.json"), encoding: .utf8)
        let bad = good.replacingOccurrences(of: "\"numHeads\": 1,", with: "\"numHeads\": 3,")
        XCTAssertNotEqual(bad, good)
        let config = CLIRunner.scratch("bad-heads-config.json"), out = CLIRunner.scratch("bad-config.samq")
        try bad.write(toFile: config, atomically: true, encoding: .utf8)
        let expected = "bad-heads-config.json': invalid model config: decoder heads 3 do not divide the attention width"
        try expectFailure("samq-convert", ["--random", config, "-o", out], mentioning: expected)
        try expectFailure("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "--config", config, "-o", out],
                          mentioning: expected)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testBadFilesAreClearErrors() throws {
        let out = CLIRunner.scratch("bad-files")
        try expectFailure("samq", ["segment", Self.model, CLIRunner.fixture("images/bad/truncated.png"), "--point", "1,1", "-o", out],
                          mentioning: "truncated.png")
        try expectFailure("samq", ["info", CLIRunner.fixture("sam/tiny_a.pth")], mentioning: "not a .samq file")
        try expectFailure("samq-convert", [CLIRunner.fixture("malformed/pickle_global_os_system.pth"), "-o", out + ".samq"],
                          mentioning: "os")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".samq"))
        // A flipped byte in a tensor is caught by --verify and named.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.model))
        bytes[bytes.count - 100] ^= 0x55
        let damaged = CLIRunner.scratch("damaged.samq")
        try bytes.write(to: URL(fileURLWithPath: damaged))
        try expectFailure("samq", ["info", damaged, "--verify"], mentioning: "checksum mismatch")
    }
}
