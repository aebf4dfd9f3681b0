import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SAMQImage
import XCTest
@testable import SAMQServer

/// Every failure the API names: JSON errors with the right status and code.
final class ServerErrorTests: XCTestCase {
    func testMalformedRequestsAndPromptsAre400() async throws {
        let service = try DemoModel.service()
        try await DemoModel.application(service).test(.router) { client in
            let id = try await client.upload(try DemoModel.imageBytes(1))
            let uri = "/api/images/\(id)/predict"
            let cases: [(String, String)] = [
                ("{\"points\": [[144, 59]", "malformed_json"),
                ("", "malformed_json"),
                ("[1, 2]", "malformed_json"),
                (#"{"points": "here", "labels": [1]}"#, "malformed_json"),
                (#"{"points": [[1e999, 3]], "labels": [1]}"#, "malformed_json"),
                (#"{"points": [[NaN, 3]], "labels": [1]}"#, "malformed_json"),
                (#"{"points": [[144, 59]]}"#, "bad_prompt"),                          // no labels
                (#"{"points": [[144, 59], [10, 10]], "labels": [1]}"#, "bad_prompt"),  // label count
                (#"{"points": [[144, 59]], "labels": [2]}"#, "bad_prompt"),
                (#"{"points": [[144, 59, 1]], "labels": [1]}"#, "bad_prompt"),
                (#"{"points": [[321, 59]], "labels": [1]}"#, "bad_prompt"),            // outside 320×240
                (#"{"points": [[-1, 59]], "labels": [1]}"#, "bad_prompt"),
                (#"{"points": [[10, 241]], "labels": [1]}"#, "bad_prompt"),
                (#"{"box": [50, 50, 10, 10]}"#, "bad_prompt"),
                (#"{"box": [0, 0, 400, 100]}"#, "bad_prompt"),
                (#"{"box": [0, 0, 10]}"#, "bad_prompt"),
                ("{}", "bad_prompt"),
                (#"{"points": [], "labels": []}"#, "bad_prompt"),
                (#"{"maskInput": {"logits": "AAAA"}}"#, "bad_prompt"),
                (#"{"maskInput": {"logits": "***"}}"#, "bad_prompt"),
                (#"{"maskInput": {}}"#, "bad_prompt"),
            ]
            for (body, code) in cases {
                let message = try await client.error(uri, method: .post, body: ByteBuffer(string: body),
                                                     status: .badRequest, code: code)
                XCTAssertFalse(message.isEmpty, body)
            }
            let many = (0..<65).map { _ in "[1, 1]" }.joined(separator: ",")
            try await client.error(uri, method: .post, body: ByteBuffer(string: "{\"points\": [\(many)], \"labels\": [\((0..<65).map { _ in "1" }.joined(separator: ","))]}"),
                                   status: .badRequest, code: "bad_prompt")
            // NaN logits are refused too.
            let nanLogits = [Float](repeating: .nan, count: 64 * 64).withUnsafeBufferPointer { Data(buffer: $0) }.base64EncodedString()
            try await client.error(uri, method: .post, body: ByteBuffer(string: #"{"maskInput": {"logits": "\#(nanLogits)"}}"#),
                                   status: .badRequest, code: "bad_prompt")
            // A kept prediction of another image cannot seed this one.
            let other = try await client.upload(try DemoModel.imageBytes(2))
            let otherPrediction = try await client.predict(other, #"{"points": [[10, 10]], "labels": [1]}"#)
            let pid = try XCTUnwrap(otherPrediction["prediction"] as? String)
            try await client.error(uri, method: .post, body: ByteBuffer(string: #"{"maskInput": {"prediction": "\#(pid)"}}"#),
                                   status: .badRequest, code: "bad_prompt")
            try await client.error(uri, method: .post, body: ByteBuffer(string: #"{"maskInput": {"prediction": "\#(pid)", "index": 7}}"#),
                                   status: .badRequest, code: "bad_prompt")
            try await client.error("/api/predictions/\(pid)/masks/0?format=gif", status: .badRequest, code: "bad_request")
        }
    }

    func testBadImagesAre400() async throws {
        let service = try DemoModel.service()
        try await DemoModel.application(service).test(.router) { client in
            try await client.error("/api/images", method: .post, body: nil, status: .badRequest, code: "bad_image")
            try await client.error("/api/images", method: .post, body: ByteBuffer(string: "not an image at all"),
                                   status: .badRequest, code: "bad_image")
            var truncated = try DemoModel.imageBytes(1)
            truncated.removeLast(truncated.count / 2)
            try await client.error("/api/images", method: .post, body: ByteBuffer(bytes: truncated),
                                   status: .badRequest, code: "bad_image")
            // Decodable, but its short side rounds to 0 px at the demo model's 256 px input.
            let sliver = try PNGEncoder.encode(try RGBImage(width: 2000, height: 3))
            let message = try await client.error("/api/images", method: .post, body: ByteBuffer(bytes: sliver),
                                                 status: .badRequest, code: "bad_image")
            XCTAssertTrue(message.contains("too elongated") && message.contains("at least 4 px"), message)
        }
    }

    /// A full encoder queue turns new work away with 503 instead of queueing
    /// without bound; the queue is filled deterministically with a held place.
    func testFullEncoderQueueIs503() async throws {
        let service = try DemoModel.service(maxQueuedJobs: 1)
        try await DemoModel.application(service).test(.router) { client in
            let id = try await client.upload(try DemoModel.imageBytes(1))
            let held = EncoderWorker.Job(id: ImageID(image: try DemoModel.image(3)), kind: .encode)
            XCTAssertTrue(service.encoder.reserve(held))
            let message = try await client.error("/api/images", method: .post, body: ByteBuffer(bytes: try DemoModel.imageBytes(2)),
                                                 status: .serviceUnavailable, code: "encoder_busy")
            XCTAssertTrue(message.contains("1 jobs"), message)
            try await client.error("/api/images/\(id)/everything", method: .post, body: ByteBuffer(string: "{}"),
                                   status: .serviceUnavailable, code: "encoder_busy")
            // Once the place is free, the same upload is accepted.
            service.encoder.cancelReservation(held)
            _ = try await client.upload(try DemoModel.imageBytes(2))
        }
    }

    func testSizeAndPixelLimitsAre413() async throws {
        // demo_1.png is 136,527 bytes, demo_2.png 151,741.
        let small = try DemoModel.service { $0.maxUploadBytes = 140_000 }
        try await DemoModel.application(small).test(.router) { client in
            let message = try await client.error("/api/images", method: .post, body: ByteBuffer(bytes: try DemoModel.imageBytes(2)),
                                                 status: .contentTooLarge, code: "too_large")
            XCTAssertTrue(message.contains("140000"), message)
            let id = try await client.upload(try DemoModel.imageBytes(1))
            try await client.error("/api/images/\(id)/predict", method: .post,
                                   body: ByteBuffer(string: "{\"points\": [" + String(repeating: "[1,1],", count: 30000) + "[1,1]]}"),
                                   status: .contentTooLarge, code: "too_large")
        }
        let fewPixels = try DemoModel.service { $0.maxPixels = 320 * 240 - 1 }
        try await DemoModel.application(fewPixels).test(.router) { client in
            let message = try await client.error("/api/images", method: .post, body: ByteBuffer(bytes: try DemoModel.imageBytes(1)),
                                                 status: .contentTooLarge, code: "too_large")
            XCTAssertTrue(message.contains("320x240"), message)
        }
    }

    func testUnknownIdsAndRoutesAre404() async throws {
        let service = try DemoModel.service()
        try await DemoModel.application(service).test(.router) { client in
            try await client.error("/api/images/0123456789abcdef0123456789abcdef", status: .notFound, code: "unknown_image")
            try await client.error("/api/images/0123456789abcdef0123456789abcdef/predict", method: .post,
                                   body: ByteBuffer(string: #"{"points": [[1, 1]], "labels": [1]}"#),
                                   status: .notFound, code: "unknown_image")
            try await client.error("/api/images/0123456789abcdef0123456789abcdef/everything", method: .post,
                                   status: .notFound, code: "unknown_image")
            // Anything that is not an id is simply unknown: no path ever reaches the filesystem.
            try await client.error("/api/images/..%2F..%2Fetc%2Fpasswd", status: .notFound, code: "unknown_image")
            try await client.error("/api/images/%2Fetc%2Fpasswd/predict", method: .post, body: ByteBuffer(string: "{}"),
                                   status: .notFound, code: "unknown_image")
            try await client.error("/../../etc/passwd", status: .notFound, code: "not_found")
            try await client.error("/Package.swift", status: .notFound, code: "not_found")
            try await client.error("/api/predictions/p999/masks/0", status: .notFound, code: "unknown_prediction")
            try await client.error("/api/nothing", status: .notFound, code: "not_found")

            let id = try await client.upload(try DemoModel.imageBytes(1))
            let result = try await client.predict(id, #"{"points": [[144, 59]], "labels": [1]}"#)
            let pid = try XCTUnwrap(result["prediction"] as? String)
            try await client.error("/api/predictions/\(pid)/masks/3", status: .notFound, code: "not_found")
            try await client.error("/api/predictions/\(pid)/masks/x", status: .notFound, code: "not_found")
            try await client.error("/api/images/\(id)/predict", method: .post,
                                   body: ByteBuffer(string: #"{"maskInput": {"prediction": "p999"}}"#),
                                   status: .notFound, code: "unknown_prediction")
        }
    }

    func testBearerToken() async throws {
        let service = try DemoModel.service { $0.token = "s3cret" }
        try await DemoModel.application(service).test(.router) { client in
            try await client.error("/api/model", status: .unauthorized, code: "unauthorized")
            try await client.error("/api/model", headers: [.authorization: "Bearer wrong"], status: .unauthorized, code: "unauthorized")
            try await client.error("/api/model", headers: [.authorization: "Bearer s3cret2"], status: .unauthorized, code: "unauthorized")
            try await client.error("/api/model", headers: [.authorization: "Basic s3cret"], status: .unauthorized, code: "unauthorized")
            try await client.error("/api/images", method: .post, body: ByteBuffer(bytes: try DemoModel.imageBytes(1)),
                                   status: .unauthorized, code: "unauthorized")
            try await client.error("/api/images/0123456789abcdef0123456789abcdef", status: .unauthorized, code: "unauthorized")
            let response = try await client.execute(uri: "/api/model", method: .get)
            XCTAssertEqual(response.headers[.wwwAuthenticate], "Bearer")

            try await client.json("/api/model", headers: [.authorization: "Bearer s3cret"])
            // The health probe and the page (which asks for the token) stay open.
            try await client.json("/api/health")
            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertEqual(page.status, .ok)
        }
    }
}
