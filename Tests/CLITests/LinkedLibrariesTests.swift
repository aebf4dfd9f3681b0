import Foundation
import XCTest

/// `samq` must not link the full Foundation: its ICU-backed libraries cost
/// every process about 6.5 MB of resident memory (a vit_t encode on a small
/// board has a 48 MB budget). A new `import Foundation`, or a dependency
/// trait that enables it, fails here instead of silently growing the RSS.
final class LinkedLibrariesTests: XCTestCase {
    func testSamqLinksOnlyFoundationEssentials() throws {
        #if os(Linux)
        let ldd = "/usr/bin/ldd"
        guard FileManager.default.isExecutableFile(atPath: ldd) else { throw XCTSkip("no ldd on this system") }
        let samq = CLIRunner.productsDirectory.appendingPathComponent("samq").path
        let result = try CLIRunner.run(executable: ldd, [samq])
        XCTAssertEqual(result.status, 0, result.stderr)
        let libraries = result.stdout.split(separator: "\n").compactMap { line in
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
        XCTAssertTrue(libraries.contains { $0.hasPrefix("libFoundationEssentials.so") }, result.stdout)
        for forbidden in ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"] {
            XCTAssertFalse(libraries.contains { $0.hasPrefix(forbidden) }, "samq links \(forbidden):\n\(result.stdout)")
        }
        #else
        throw XCTSkip("checked on Linux, where Foundation and FoundationEssentials are separate libraries")
        #endif
    }
}
