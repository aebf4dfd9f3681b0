import Foundation
import XCTest

/// `samq eval` end to end on the golden fixtures (tiny_a, made by the official
/// package): int8 against f32, f32 against itself, and the f32 file against the
/// official embedding and logits saved in the fixtures.
final class EvalCLITests: XCTestCase {
    static var int8Model = ""
    static var f32Model = ""

    override class func setUp() {
        super.setUp()
        int8Model = CLIRunner.scratch("eval_tiny_a_int8.samq")
        f32Model = CLIRunner.scratch("eval_tiny_a_f32.samq")
        _ = try? CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_a.pth"), "-o", int8Model, "--brief"])
        _ = try? CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_a.pth"), "-o", f32Model, "--dtype", "f32", "--brief"])
    }

    var image: String { CLIRunner.fixture("sam/image.png") }

    func evalJSON(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try CLIRunner.run("samq", ["eval"] + arguments + ["--json"])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                             result.stdout, file: file, line: line)
    }

    func number(_ json: [String: Any], _ path: String) -> Double? {
        var node: Any? = json
        for key in path.split(separator: ".") { node = (node as? [String: Any])?[String(key)] }
        return (node as? NSNumber)?.doubleValue
    }

    func testInt8AgainstF32() throws {
        let json = try evalJSON([Self.int8Model, "--reference", Self.f32Model, image, "--prompts", "6"])
        let cosine = try XCTUnwrap(number(json, "embedding.cosine"))
        XCTAssertGreaterThan(cosine, 0.999)
        XCTAssertLessThan(cosine, 1)
        XCTAssertGreaterThan(try XCTUnwrap(number(json, "embedding.sqnrDb")), 20)
        for metric in ["bestMaskIoU", "maskIoU"] {
            let mean = try XCTUnwrap(number(json, "\(metric).mean")), low = try XCTUnwrap(number(json, "\(metric).min"))
            let p5 = try XCTUnwrap(number(json, "\(metric).p5"))
            XCTAssertTrue(0.5 < low && low <= p5 && p5 <= mean && mean <= 1, "\(metric): min \(low) p5 \(p5) mean \(mean)")
        }
        XCTAssertEqual(number(json, "bestMaskIoU.count"), 6)
        XCTAssertEqual(number(json, "maskIoU.count"), 18, "3 masks per prompt")
        let iouError = try XCTUnwrap(number(json, "iouPredictionError.max"))
        XCTAssertTrue(iouError > 0 && iouError < 0.2, "\(iouError)")
        let mismatch = try XCTUnwrap(number(json, "bestIndexMismatch"))
        XCTAssertTrue((0...1).contains(mismatch))
        for model in ["model", "reference"] {
            XCTAssertGreaterThan(try XCTUnwrap(number(json, "timingsMs.\(model).encoderMedian")), 0)
            XCTAssertGreaterThan(try XCTUnwrap(number(json, "timingsMs.\(model).decoderMedian")), 0)
        }
        let cases = try XCTUnwrap(json["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.map { $0["kind"] as? String }, ["point", "box", "point+box", "point", "box", "point+box"])
        for entry in cases {
            // Each model's best mask is its own argmax (first on ties), and the best-mask IoU is that pair's IoU.
            let modelScores = try XCTUnwrap(entry["modelIoUPredictions"] as? [Double])
            let referenceScores = try XCTUnwrap(entry["referenceIoUPredictions"] as? [Double])
            let modelBest = try XCTUnwrap(entry["modelBest"] as? Int), referenceBest = try XCTUnwrap(entry["referenceBest"] as? Int)
            XCTAssertEqual(modelBest, modelScores.firstIndex(of: modelScores.max() ?? 0))
            XCTAssertEqual(referenceBest, referenceScores.firstIndex(of: referenceScores.max() ?? 0))
            if modelBest == referenceBest {
                XCTAssertEqual(entry["bestMaskIoU"] as? Double, (entry["maskIoU"] as? [Double])?[modelBest])
            }
        }
        XCTAssertEqual((json["byKind"] as? [Any])?.count, 3)
        XCTAssertEqual((json["images"] as? [[String: Any]])?.first?["image"] as? String, "image.png")
    }

    func testModelAgainstItselfIsPerfectAndTheSeedFixesThePrompts() throws {
        let arguments = [Self.f32Model, "--reference", Self.f32Model, image, "--prompts", "6", "--seed", "5"]
        let json = try evalJSON(arguments)
        XCTAssertEqual(number(json, "embedding.cosine") ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(number(json, "embedding.relativeL2"), 0)
        XCTAssertTrue((json["embedding"] as? [String: Any])?["sqnrDb"] is NSNull, "identical: infinite SQNR is null")
        XCTAssertEqual(number(json, "bestMaskIoU.mean"), 1)
        XCTAssertEqual(number(json, "bestMaskIoU.min"), 1)
        XCTAssertEqual(number(json, "maskIoU.min"), 1)
        XCTAssertEqual(number(json, "iouPredictionError.max"), 0)
        XCTAssertEqual(number(json, "bestIndexMismatch"), 0)
        // Same seed, same prompts; another seed, others.
        let again = try evalJSON(arguments)
        let prompts = { (j: [String: Any]) in ((j["cases"] as? [[String: Any]]) ?? []).map { "\($0["point"] ?? "-") \($0["box"] ?? "-")" } }
        XCTAssertEqual(prompts(json), prompts(again))
        XCTAssertNotEqual(prompts(json), prompts(try evalJSON(Array(arguments.dropLast()) + ["6"])))
    }

    func testAgreesWithTheOfficialEmbeddingAndLogits() throws {
        let embedding = try evalJSON([Self.f32Model, "--reference", Self.int8Model, image, "--prompts", "3",
                                      "--reference-embedding", CLIRunner.fixture("sam/tiny_a/embedding.npy")])
        let embeddingL2 = try XCTUnwrap(number(embedding, "referenceEmbedding.comparison.relativeL2"))
        XCTAssertLessThanOrEqual(embeddingL2, 1e-4)
        XCTAssertGreaterThan(try XCTUnwrap(number(embedding, "referenceEmbedding.comparison.cosine")), 0.99999)

        // manifest.json configs.tiny_a.cases[0]: one positive point (92, 62), multimask.
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: CLIRunner.fixture("sam/manifest.json")))) as? [String: Any])
        let tinyA = try XCTUnwrap((manifest["configs"] as? [String: Any])?["tiny_a"] as? [String: Any])
        let first = try XCTUnwrap((tinyA["cases"] as? [[String: Any]])?.first)
        let point = try XCTUnwrap((first["points"] as? [[Double]])?.first)
        let label = try XCTUnwrap((first["labels"] as? [Int])?.first)
        let logitsFile = try XCTUnwrap((first["files"] as? [String: Any])?["low_res_logits"] as? String)
        let logits = try evalJSON([Self.f32Model, "--reference", Self.int8Model, image, "--prompts", "3",
                                   "--reference-logits", CLIRunner.fixture("sam/" + logitsFile),
                                   "--point", "\(point[0]),\(point[1]),\(label)"])
        XCTAssertEqual(number(logits, "referenceLogits.masks"), 3)
        XCTAssertLessThanOrEqual(try XCTUnwrap(number(logits, "referenceLogits.comparison.relativeL2")), 1e-4)
        // The int8 file is close to the official logits but not that close: the comparison discriminates.
        let int8Logits = try evalJSON([Self.int8Model, "--reference", Self.f32Model, image, "--prompts", "3",
                                       "--reference-logits", CLIRunner.fixture("sam/" + logitsFile),
                                       "--point", "\(point[0]),\(point[1]),\(label)"])
        XCTAssertGreaterThan(try XCTUnwrap(number(int8Logits, "referenceLogits.comparison.relativeL2")), 1e-3)
    }

    func testTextTableAndFailBelowIoU() throws {
        let text = try CLIRunner.run("samq", ["eval", Self.int8Model, "--reference", Self.f32Model, image, "--prompts", "3"])
        XCTAssertEqual(text.status, 0, text.stderr)
        for expected in ["cosine", "SQNR dB", "best mask", "mask by mask", "IoU prediction error", "best-mask choice", "encoder", "decoder"] {
            XCTAssertTrue(text.stdout.contains(expected), "missing '\(expected)' in\n\(text.stdout)")
        }
        XCTAssertTrue(text.stderr.isEmpty, "progress only on a terminal: \(text.stderr)")

        let failing = try CLIRunner.run("samq", ["eval", Self.f32Model, "--reference", Self.f32Model, image, "--prompts", "3",
                                                "--fail-below-iou", "1.01"])
        XCTAssertNotEqual(failing.status, 0)
        XCTAssertTrue(failing.stderr.contains("below --fail-below-iou"), failing.stderr)
        XCTAssertTrue(failing.stdout.contains("best mask"), "the report is still printed")
        let passing = try CLIRunner.run("samq", ["eval", Self.f32Model, "--reference", Self.f32Model, image, "--prompts", "3",
                                                "--fail-below-iou", "1"])
        XCTAssertEqual(passing.status, 0, passing.stderr)
    }

    func testBadInputsAreClearErrors() throws {
        let other = CLIRunner.scratch("eval_tiny_b.samq")
        XCTAssertEqual(try CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_b.pth"), "-o", other, "--brief"]).status, 0)
        func expectFailure(_ arguments: [String], mentioning text: String, line: UInt = #line) throws {
            let result = try CLIRunner.run("samq", ["eval"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)", line: line)
            XCTAssertTrue(result.stderr.localizedCaseInsensitiveContains(text), "'\(text)' not in: \(result.stderr)", line: line)
            XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr, line: line)
        }
        try expectFailure([Self.int8Model, "--reference", other, image], mentioning: "differ in image size")
        try expectFailure([Self.int8Model, image], mentioning: "--reference")
        try expectFailure([Self.int8Model, "--reference", Self.f32Model], mentioning: "image")
        try expectFailure([Self.int8Model, "--reference", Self.f32Model, image, image,
                           "--reference-embedding", CLIRunner.fixture("sam/tiny_a/embedding.npy")], mentioning: "exactly one")
        try expectFailure([Self.int8Model, "--reference", Self.f32Model, image,
                           "--reference-logits", CLIRunner.fixture("sam/tiny_a/case_0_low_res_logits.npy")], mentioning: "--point")
        try expectFailure([Self.int8Model, "--reference", Self.f32Model, image,
                           "--reference-embedding", CLIRunner.fixture("sam/tiny_b/embedding.npy")], mentioning: "shape")
        try expectFailure([Self.int8Model, "--reference", Self.f32Model, image, "--prompts", "0"], mentioning: "--prompts")
    }
}
