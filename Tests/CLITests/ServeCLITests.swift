import Foundation
import XCTest

/// `samq serve` as a process: the start-up banner, the warning when it is
/// reachable from a network without a token, a clean stop on SIGTERM and
/// SIGINT, and refusals of bad options.
final class ServeCLITests: XCTestCase {
    static var model = ""

    override class func setUp() {
        super.setUp()
        model = CLIRunner.scratch("serve_tiny_a.samq")
        _ = try? CLIRunner.run("samq-convert", [CLIRunner.fixture("sam/tiny_a.pth"), "-o", model, "--brief"])
    }

    /// Starts `samq serve`, waits for its banner line, sends `signal`, and returns the banner, stderr and exit status.
    func serveAndStop(_ arguments: [String], signal: Int32) throws -> (banner: String, stderr: String, status: Int32) {
        let process = Process()
        process.executableURL = CLIRunner.productsDirectory.appendingPathComponent("samq")
        process.arguments = ["serve", Self.model, "--port", "0", "--threads", "1", "--decoders", "1"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var banner = Data()
        let handle = out.fileHandleForReading
        while !banner.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData   // blocks until output or EOF
            if chunk.isEmpty { break }
            banner.append(chunk)
        }
        kill(process.processIdentifier, signal)
        let rest = handle.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: banner + rest, as: UTF8.self), String(decoding: stderr, as: UTF8.self), process.terminationStatus)
    }

    func testStartsPrintsItsAddressAndStopsOnSIGTERM() throws {
        let run = try serveAndStop([], signal: SIGTERM)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.banner.hasPrefix("samq serve: http://127.0.0.1:"), run.banner)
        XCTAssertTrue(run.banner.contains("stopped"), run.banner)
        XCTAssertFalse(run.stderr.contains("warning"), run.stderr)
    }

    func testWarnsWithoutTokenOffLoopbackAndStopsOnSIGINT() throws {
        let open = try serveAndStop(["--host", "0.0.0.0"], signal: SIGINT)
        XCTAssertEqual(open.status, 0, open.stderr)
        XCTAssertTrue(open.stderr.contains("warning: serving on 0.0.0.0 without --token"), open.stderr)
        let guarded = try serveAndStop(["--host", "0.0.0.0", "--token", "t0ken"], signal: SIGINT)
        XCTAssertEqual(guarded.status, 0, guarded.stderr)
        XCTAssertFalse(guarded.stderr.contains("warning"), guarded.stderr)
    }

    func testRefusesBadOptions() throws {
        for (arguments, text) in [(["--port", "70000"], "--port"), (["--max-upload", "lots"], "--max-upload"),
                                  (["--cache-budget", "-1GB"], "--cache-budget"), (["--cache-budget", "100B"], "cache-budget"),
                                  (["--token", ""], "--token"), (["--decoders", "0"], "--decoders")] {
            let result = try CLIRunner.run("samq", ["serve", Self.model, "--port", "0"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.stderr.contains(text), "\(arguments): \(result.stderr)")
        }
        let missing = try CLIRunner.run("samq", ["serve", "/nonexistent/model.samq", "--port", "0"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("Error"), missing.stderr)
    }
}
