import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SAMQConverter
import SAMQFormat
import SAMQImage
import SAMQRuntime
import XCTest
@testable import SAMQServer

/// The trained demo model (Models/demo, 256-pixel input), converted to int8 once
/// per test run: small enough that every encode and decode is fast in debug builds.
enum DemoModel {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let demo = root.appendingPathComponent("Models/demo")

    static let path: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("serve-demo-\(getpid()).samq").path
        do {
            let source = try CheckpointLoader.open(path: demo.appendingPathComponent("samq_demo_256.pth").path)
            _ = try Converter(options: ConversionOptions()).convert(
                try ConversionInput(checkpoint: source, converterVersion: "test", hashSource: false), to: path)
        } catch {
            fatalError("cannot convert the demo model: \(error)")
        }
        // Shared by every test of the run, so it goes when the process ends.
        atexit { unlink(DemoModel.path) }
        return path
    }()

    static func imageBytes(_ n: Int) throws -> [UInt8] {
        Array(try Data(contentsOf: demo.appendingPathComponent("demo_\(n).png")))
    }

    static func image(_ n: Int) throws -> RGBImage { try RGBImage(decoding: imageBytes(n)) }

    static func predictor(residency: ImageEncoderViT.WeightResidency = .resident) throws -> SamPredictor {
        try SamPredictor(weights: try SAMQFileWeights(path: path), residency: residency)
    }

    static func service(_ configure: (inout ServerOptions) -> Void = { _ in }, decoders: Int = 2,
                        maxQueuedJobs: Int = 16) throws -> SegmentationService {
        var options = ServerOptions()
        configure(&options)
        let weights = try SAMQFileWeights(path: path)
        return try SegmentationService(modelName: "demo.samq", encoder: try predictor(),
                                       decoders: try (0..<decoders).map { _ in try SamPredictor(weights: weights, residency: .streamed) },
                                       options: options, maxQueuedJobs: maxQueuedJobs)
    }

    static func application(_ service: SegmentationService) -> some ApplicationProtocol {
        Application(router: ServerRoutes.router(service))
    }
}

extension TestClientProtocol {
    @discardableResult
    func json(_ uri: String, method: HTTPRequest.Method = .get, body: String? = nil, headers: HTTPFields = [:],
              expect status: HTTPResponse.Status = .ok, file: StaticString = #filePath, line: UInt = #line) async throws -> [String: Any] {
        let response = try await execute(uri: uri, method: method, headers: headers,
                                         body: body.map { ByteBuffer(string: $0) })
        XCTAssertEqual(response.status, status, "\(method) \(uri): \(String(buffer: response.body))", file: file, line: line)
        XCTAssertTrue(response.headers[.contentType]?.hasPrefix("application/json") ?? false,
                      "\(uri) answered \(response.headers[.contentType] ?? "no content type")", file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any],
                             file: file, line: line)
    }

    /// Expects the JSON error format with `status` and `code`; returns the message.
    @discardableResult
    func error(_ uri: String, method: HTTPRequest.Method = .get, body: ByteBuffer? = nil, headers: HTTPFields = [:],
               status: HTTPResponse.Status, code: String, file: StaticString = #filePath, line: UInt = #line) async throws -> String {
        let response = try await execute(uri: uri, method: method, headers: headers, body: body)
        XCTAssertEqual(response.status, status, "\(method) \(uri): \(String(buffer: response.body))", file: file, line: line)
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        let error = object?["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, code, "\(uri): \(String(buffer: response.body))", file: file, line: line)
        XCTAssertEqual(error?["status"] as? Int, Int(status.code), file: file, line: line)
        let message = error?["message"] as? String ?? ""
        XCTAssertFalse(message.isEmpty, "error without a message", file: file, line: line)
        return message
    }

    /// Uploads a demo image and waits for its embedding; returns the image id.
    func upload(_ bytes: [UInt8], expect status: HTTPResponse.Status = .created,
                file: StaticString = #filePath, line: UInt = #line) async throws -> String {
        let response = try await execute(uri: "/api/images?wait=1", method: .post,
                                         headers: [.contentType: "image/png"], body: ByteBuffer(bytes: bytes))
        XCTAssertEqual(response.status, status, String(buffer: response.body), file: file, line: line)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
        XCTAssertEqual(object["status"] as? String, "ready", file: file, line: line)
        return try XCTUnwrap(object["id"] as? String, file: file, line: line)
    }

    func predict(_ id: String, _ body: String, file: StaticString = #filePath, line: UInt = #line) async throws -> [String: Any] {
        try await json("/api/images/\(id)/predict", method: .post, body: body, file: file, line: line)
    }
}

/// A mask from the API's COCO RLE.
func decodeRLE(_ rle: Any?) throws -> (mask: [Bool], height: Int, width: Int) {
    let object = try XCTUnwrap(rle as? [String: Any])
    let size = try XCTUnwrap(object["size"] as? [Int])
    let counts = try XCTUnwrap(object["counts"] as? String)
    let decoded = try MaskRLE(height: size[0], width: size[1], cocoString: counts)
    return (decoded.decode(), size[0], size[1])
}
