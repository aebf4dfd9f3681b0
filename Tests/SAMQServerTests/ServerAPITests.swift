import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SAMQFormat
import SAMQImage
import SAMQRuntime
import XCTest
@testable import SAMQServer

/// Every endpoint of docs/API.md on the demo model, through Hummingbird's
/// router test client, and the same masks as `SamPredictor` on its own.
final class ServerAPITests: XCTestCase {
    func testHealthModelInfoAndPage() async throws {
        let service = try DemoModel.service()
        try await DemoModel.application(service).test(.router) { client in
            let health = try await client.json("/api/health")
            XCTAssertEqual(health["status"] as? String, "ok")

            let model = try await client.json("/api/model")
            XCTAssertEqual(model["model"] as? String, "demo.samq")
            XCTAssertEqual(model["imageSize"] as? Int, 256)
            XCTAssertEqual(model["embeddingShape"] as? [Int], [128, 16, 16])
            XCTAssertEqual(model["lowResMaskSize"] as? Int, 64)
            XCTAssertEqual(model["precision"] as? String, "int8")
            XCTAssertEqual(model["decoders"] as? Int, 2)
            let limits = try XCTUnwrap(model["limits"] as? [String: Any])
            XCTAssertEqual(limits["maxUploadBytes"] as? Int, 25_000_000)

            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertEqual(page.status, .ok)
            XCTAssertEqual(page.headers[.contentType], "text/html; charset=utf-8")
            let html = String(buffer: page.body)
            XCTAssertTrue(html.contains("<canvas id=\"view\""))
            XCTAssertTrue(html.contains("name=\"viewport\""))
            XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the page must load nothing from elsewhere")
        }
    }

    /// The page compiled into the binary is the page in the source tree (scripts/embed-page.sh).
    func testEmbeddedPageMatchesItsSource() throws {
        let source = try String(contentsOf: DemoModel.root.appendingPathComponent("Sources/SAMQServer/Page/index.html"),
                                encoding: .utf8)
        XCTAssertEqual(webPageHTML + "\n", source, "run scripts/embed-page.sh")
    }

    func testUploadEncodesOnceAndReportsStatus() async throws {
        let service = try DemoModel.service()
        try await DemoModel.application(service).test(.router) { client in
            let id = try await client.upload(try DemoModel.imageBytes(1))
            XCTAssertEqual(id.count, 32)
            // The same pixels again: the cached embedding, no second encode.
            let again = try await client.upload(try DemoModel.imageBytes(1), expect: .ok)
            XCTAssertEqual(again, id)
            let status = try await client.json("/api/images/\(id)")
            XCTAssertEqual(status["status"] as? String, "ready")
            XCTAssertEqual(status["width"] as? Int, 320)
            XCTAssertEqual(status["height"] as? Int, 240)
            XCTAssertNotNil(status["encodeMs"] as? Double)
            XCTAssertEqual((status["everything"] as? [String: Any])?["status"] as? String, "none")

            // Without ?wait the upload answers at once; polling reaches "ready".
            let response = try await client.execute(uri: "/api/images", method: .post,
                                                    body: ByteBuffer(bytes: try DemoModel.imageBytes(2)))
            XCTAssertEqual(response.status, .created)
            let first = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            XCTAssertTrue(["queued", "encoding", "ready"].contains(first["status"] as? String ?? ""), "\(first)")
            let second = try XCTUnwrap(first["id"] as? String)
            let settled = try await client.json("/api/images/\(second)?wait=1")
            XCTAssertEqual(settled["status"] as? String, "ready")
        }
    }

    func testPointPromptGivesThePredictorsMasksAndDownloads() async throws {
        let service = try DemoModel.service()
        let reference = try DemoModel.predictor()
        try reference.setImage(try DemoModel.image(1))
        let expected = try reference.predict(points: [(144, 59)], labels: [1])

        try await DemoModel.application(service).test(.router) { client in
            let id = try await client.upload(try DemoModel.imageBytes(1))
            let result = try await client.predict(id, #"{"points": [[144, 59]], "labels": [1], "png": true}"#)
            XCTAssertEqual(result["image"] as? String, id)
            XCTAssertEqual(result["width"] as? Int, 320)
            XCTAssertEqual(result["lowResSize"] as? Int, 64)
            let masks = try XCTUnwrap(result["masks"] as? [[String: Any]])
            XCTAssertEqual(masks.count, 3)
            for (k, mask) in masks.enumerated() {
                let decoded = try decodeRLE(mask["rle"])
                XCTAssertEqual(decoded.height, 240)
                XCTAssertEqual(decoded.mask, expected.mask(k).map { $0 != 0 }, "mask \(k)")
                XCTAssertEqual(mask["area"] as? Int, decoded.mask.filter { $0 }.count)
                XCTAssertEqual(try XCTUnwrap(mask["iouPrediction"] as? Double), Double(expected.iouPredictions[k]), accuracy: 1e-6)
                // The inline PNG is the same mask, 0/255.
                let png = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(mask["png"] as? String)))
                let image = try RGBImage(decoding: Array(png))
                XCTAssertEqual(stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] == 255 }, decoded.mask)
            }
            let best = try XCTUnwrap(result["best"] as? Int)
            XCTAssertEqual(best, expected.iouPredictions.indices.max { expected.iouPredictions[$0] < expected.iouPredictions[$1] })
            // The demo model finds the star under the point.
            let bestMask = try decodeRLE(masks[best]["rle"]).mask
            XCTAssertTrue(bestMask[59 * 320 + 144])
            XCTAssertGreaterThan(bestMask.filter { $0 }.count, 200)

            // Downloads of a kept prediction.
            let pid = try XCTUnwrap(result["prediction"] as? String)
            let png = try await client.execute(uri: "/api/predictions/\(pid)/masks/\(best)", method: .get)
            XCTAssertEqual(png.status, .ok)
            XCTAssertEqual(png.headers[.contentType], "image/png")
            let image = try RGBImage(decoding: Array(png.body.readableBytesView))
            XCTAssertEqual(stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] == 255 }, bestMask)
            let rle = try await client.json("/api/predictions/\(pid)/masks/\(best)?format=rle")
            XCTAssertEqual(try decodeRLE(rle).mask, bestMask)
        }
    }

    func testBoxAndSingleMaskAndRefinementMatchThePredictor() async throws {
        let service = try DemoModel.service()
        let reference = try DemoModel.predictor()
        try reference.setImage(try DemoModel.image(1))
        let boxed = try reference.predict(box: [100, 20, 190, 100], multimask: false)
        let first = try reference.predict(points: [(144, 59)], labels: [1])
        let refined = try reference.predict(points: [(144, 59), (20, 200)], labels: [1, 0], maskInput: first.lowResLogits(mask: 2))

        try await DemoModel.application(service).test(.router) { client in
            let id = try await client.upload(try DemoModel.imageBytes(1))
            let box = try await client.predict(id, #"{"box": [100, 20, 190, 100], "multimask": false}"#)
            let boxMasks = try XCTUnwrap(box["masks"] as? [[String: Any]])
            XCTAssertEqual(boxMasks.count, 1)
            XCTAssertEqual(try decodeRLE(boxMasks[0]["rle"]).mask, boxed.mask(0).map { $0 != 0 })

            // Refinement from a kept prediction's low-res logits…
            let start = try await client.predict(id, #"{"points": [[144, 59]], "labels": [1]}"#)
            let pid = try XCTUnwrap(start["prediction"] as? String)
            let next = try await client.predict(id, """
                {"points": [[144, 59], [20, 200]], "labels": [1, 0], "maskInput": {"prediction": "\(pid)", "index": 2}}
                """)
            let nextMasks = try XCTUnwrap(next["masks"] as? [[String: Any]])
            for k in 0..<3 { XCTAssertEqual(try decodeRLE(nextMasks[k]["rle"]).mask, refined.mask(k).map { $0 != 0 }) }
            // …or from logits sent as base64 float32.
            let logits = first.lowResLogits(mask: 2)
            let base64 = logits.withUnsafeBufferPointer { Data(buffer: $0) }.base64EncodedString()
            let direct = try await client.predict(id, """
                {"points": [[144, 59], [20, 200]], "labels": [1, 0], "maskInput": {"logits": "\(base64)"}}
                """)
            let directMasks = try XCTUnwrap(direct["masks"] as? [[String: Any]])
            for k in 0..<3 { XCTAssertEqual(try decodeRLE(directMasks[k]["rle"]).mask, refined.mask(k).map { $0 != 0 }) }
        }
    }

    func testEverythingReturnsCOCORLEAndKeepsTheResult() async throws {
        let service = try DemoModel.service()
        try await DemoModel.application(service).test(.router) { client in
            let id = try await client.upload(try DemoModel.imageBytes(1))
            try await client.error("/api/images/\(id)/everything", status: .notFound, code: "not_found")
            let document = try await client.json("/api/images/\(id)/everything", method: .post,
                                                 body: #"{"pointsPerSide": 8, "predIoUThresh": 0.5, "stabilityScoreThresh": 0.5}"#)
            let image = try XCTUnwrap(document["image"] as? [String: Any])
            XCTAssertEqual(image["width"] as? Int, 320)
            let annotations = try XCTUnwrap(document["annotations"] as? [[String: Any]])
            XCTAssertFalse(annotations.isEmpty)
            for annotation in annotations {
                let mask = try decodeRLE(annotation["segmentation"])
                XCTAssertEqual(annotation["area"] as? Int, mask.mask.filter { $0 }.count)
            }
            let again = try await client.json("/api/images/\(id)/everything")
            XCTAssertEqual((again["annotations"] as? [Any])?.count, annotations.count)
            let status = try await client.json("/api/images/\(id)")
            let everything = try XCTUnwrap(status["everything"] as? [String: Any])
            XCTAssertEqual(everything["status"] as? String, "done")
            XCTAssertEqual(everything["masks"] as? Int, annotations.count)
            try await client.error("/api/images/\(id)/everything", method: .post, body: ByteBuffer(string: #"{"pointsPerSide": 0}"#),
                                   status: .badRequest, code: "bad_request")
        }
    }

    /// Many decoder requests at once on two images: each answer is that image's mask.
    func testConcurrentPredictsOnTwoImages() async throws {
        let service = try DemoModel.service()
        let reference = try DemoModel.predictor()
        var expected = [[Bool]]()
        for n in [1, 2] {
            try reference.setImage(try DemoModel.image(n))
            expected.append(try reference.predict(points: [(144, 59)], labels: [1]).mask(0).map { $0 != 0 })
        }
        XCTAssertNotEqual(expected[0], expected[1])
        let want = expected
        try await DemoModel.application(service).test(.router) { client in
            let ids = [try await client.upload(try DemoModel.imageBytes(1)), try await client.upload(try DemoModel.imageBytes(2))]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for request in 0..<16 {
                    group.addTask {
                        let which = request % 2
                        let result = try await client.predict(ids[which], #"{"points": [[144, 59]], "labels": [1]}"#)
                        let masks = try XCTUnwrap(result["masks"] as? [[String: Any]])
                        XCTAssertEqual(try decodeRLE(masks[0]["rle"]).mask, want[which], "request \(request)")
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    func testCacheEvictsTheLeastRecentlyUsedImage() async throws {
        // Room for one image and its embedding (demo_2.png is 288×288, demo_1.png 320×240), not two.
        let service = try DemoModel.service { $0.cacheBudgetBytes = 288 * 288 * 3 + 128 * 16 * 16 * 4 + 1000 }
        try await DemoModel.application(service).test(.router) { client in
            let a = try await client.upload(try DemoModel.imageBytes(1))
            let b = try await client.upload(try DemoModel.imageBytes(2))
            try await client.error("/api/images/\(a)", status: .notFound, code: "unknown_image")
            try await client.json("/api/images/\(b)")
            let model = try await client.json("/api/model")
            XCTAssertEqual((model["cache"] as? [String: Any])?["images"] as? Int, 1)
        }
        // An image alone over the budget stays while it is the most recently used.
        let tight = try DemoModel.service { $0.cacheBudgetBytes = 128 * 16 * 16 * 4 + 1000 }
        try await DemoModel.application(tight).test(.router) { client in
            let a = try await client.upload(try DemoModel.imageBytes(1))
            try await client.json("/api/images/\(a)")
            let b = try await client.upload(try DemoModel.imageBytes(2))
            try await client.json("/api/images/\(b)")
            try await client.error("/api/images/\(a)", status: .notFound, code: "unknown_image")
        }
        XCTAssertThrowsError(try DemoModel.service { $0.cacheBudgetBytes = 1000 })
    }
}
