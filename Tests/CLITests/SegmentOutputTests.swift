import Foundation
import XCTest

/// `segment` writes its files concurrently on the compute threads and decodes
/// the image while the model loads; neither may change a byte of the output
/// nor which error a user sees.
final class SegmentOutputTests: XCTestCase {
    static var model = ""

    override class func setUp() {
        super.setUp()
        model = CLIRunner.scratch("segment-output-tiny_a.samq")
        _ = try? CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_a.pth"), "-o", model, "--brief"])
    }

    private var image: String { CLIRunner.fixture("sam/image.png") }

    /// result.json without the run-dependent `timingsMs` block.
    private func resultWithoutTimings(_ directory: String) throws -> NSDictionary {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/result.json"))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertNotNil(object["timingsMs"])
        return object.filter { $0.key != "timingsMs" } as NSDictionary
    }

    func testConcurrentWritesProduceTheSameFilesAsSerial() throws {
        for prompt in [["--point", "92,62", "--point", "30,100,0"], ["--box", "20,10,120,90", "--single-mask"]] {
            var outputs: [String] = []
            // One thread runs the jobs one after another; two and five write concurrently.
            for threads in [1, 2, 5] {
                let out = CLIRunner.scratch("concurrent-\(threads)-\(prompt[0])")
                let run = try CLIRunner.run("samq", ["segment", Self.model, image] + prompt
                                            + ["-o", out, "--threads", "\(threads)", "--quiet"])
                XCTAssertEqual(run.status, 0, run.stderr)
                outputs.append(out)
            }
            let files = prompt.contains("--single-mask") ? ["mask_0.png", "overlay.png"]
                : ["mask_0.png", "mask_1.png", "mask_2.png", "overlay.png"]
            let listing = try FileManager.default.contentsOfDirectory(atPath: outputs[0]).sorted()
            XCTAssertEqual(listing, (files + ["result.json"]).sorted(), "no temporary file is left behind")
            for out in outputs.dropFirst() {
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), listing)
                for file in files {
                    let serial = try XCTUnwrap(FileManager.default.contents(atPath: outputs[0] + "/" + file))
                    XCTAssertGreaterThan(serial.count, 0)
                    XCTAssertEqual(FileManager.default.contents(atPath: out + "/" + file), serial, "\(out)/\(file)")
                }
                XCTAssertEqual(try resultWithoutTimings(out), try resultWithoutTimings(outputs[0]))
            }
        }
    }

    func testAModelErrorStillComesBeforeAnImageError() throws {
        let out = CLIRunner.scratch("both-bad")
        let missingModel = CLIRunner.scratch("no-such-model.samq")
        let run = try CLIRunner.run("samq", ["segment", missingModel, CLIRunner.fixture("images/bad/truncated.png"),
                                             "--point", "1,1", "-o", out])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("no-such-model.samq"), run.stderr)
        XCTAssertFalse(run.stderr.contains("truncated.png"), run.stderr)
        // A good model with a bad image reports the image.
        let image = try CLIRunner.run("samq", ["segment", Self.model, CLIRunner.fixture("images/bad/truncated.png"),
                                               "--point", "1,1", "-o", out])
        XCTAssertNotEqual(image.status, 0)
        XCTAssertTrue(image.stderr.contains("truncated.png"), image.stderr)
    }
}
