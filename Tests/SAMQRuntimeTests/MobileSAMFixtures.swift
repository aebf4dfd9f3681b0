import Foundation
import SAMQConverter
import SAMQFormat
import SAMQImage
@testable import SAMQRuntime

/// The MobileSAM fixtures of Tests/Fixtures/make_mobilesam_fixtures.py
/// (`mobilesam_configs` in the manifest): tiny_t is committed; vit_t's
/// weights and outputs live in `$SAMQ_BIG_DIR/fixtures` and its tests skip
/// when they are absent.
struct MobileSAMFixture {
    let name: String
    let entry: [String: Any]
    /// Directory the entry's relative file paths start from.
    let root: String

    init?(_ name: String) {
        guard let f = Fixtures.shared,
              let entry = (f.manifest["mobilesam_configs"] as? [String: Any])?[name] as? [String: Any] else { return nil }
        self.name = name
        self.entry = entry
        let external = entry["outputs_external"] as? Bool ?? false
        root = external ? Fixtures.bigDirectory + "/fixtures" : f.directory
    }

    var config: [String: Any] { entry["config"] as? [String: Any] ?? [:] }
    var imageSize: Int { config["img_size"] as? Int ?? 1024 }

    var checkpointPath: String? {
        let w = entry["weights"] as? [String: Any] ?? [:]
        let p: String
        if let local = w["pth"] as? String, let f = Fixtures.shared { p = f.path(local) }
        else if let external = w["external_pth"] as? String { p = Fixtures.bigDirectory + "/" + external }
        else { return nil }
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    func file(_ key: String) throws -> NumPyArray {
        guard let rel = (entry["files"] as? [String: Any])?[key] as? String else { throw FixtureError("\(name): no file \(key)") }
        return try NumPyArray.read(path: root + "/" + rel)
    }

    func npy(_ rel: String) throws -> NumPyArray { try NumPyArray.read(path: root + "/" + rel) }

    var cases: [[String: Any]] { entry["cases"] as? [[String: Any]] ?? [] }

    var sizes: (original: ImageSize, input: ImageSize) {
        let o = entry["original_size"] as? [Int] ?? [0, 0]
        let i = entry["input_size"] as? [Int] ?? [0, 0]
        return (ImageSize(width: o[1], height: o[0]), ImageSize(width: i[1], height: i[0]))
    }

    /// Converts the official-format checkpoint into `directory` (shape detection, BatchNorm folding).
    func convert(dtype: ConversionOptions.WeightType, into directory: URL, keepFloat32: [String] = [],
                 tag: String = "") throws -> String {
        guard let pth = checkpointPath else { throw FixtureError("\(name).pth not found") }
        var options = ConversionOptions()
        options.weights = dtype
        options.keepFloat32 = keepFloat32
        var converter = Converter(options: options)
        converter.tinyViTImageSize = imageSize
        let output = directory.appendingPathComponent("\(name)_\(dtype.rawValue)\(tag).samq").path
        let source = try CheckpointLoader.open(path: pth)
        _ = try converter.convert(try ConversionInput(checkpoint: source, converterVersion: Converter.version,
                                                      hashSource: false), to: output)
        return output
    }

    static func temporaryDirectory(_ tag: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("samq-\(tag)-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
