import XCTest
@testable import SAMQRuntime

/// RLE counts, COCO strings, areas and boxes against `mask_to_rle_pytorch`,
/// pycocotools (`frPyObjects`, `area`, `toBbox`) and `batched_mask_to_box`.
final class EverythingRLETests: XCTestCase {
    func testRLEAndCOCOStringsMatchOfficial() throws {
        for (k, entry) in try EverythingFixtures.units("rle").enumerated() {
            let height = entry["height"] as? Int ?? 0, width = entry["width"] as? Int ?? 0
            let mask = EverythingFixtures.bitmap(entry["mask"])
            XCTAssertEqual(mask.count, height * width)
            let rle = try MaskRLE(mask: mask, height: height, width: width)
            XCTAssertEqual(rle.counts, EverythingFixtures.ints(entry["counts"]), "case \(k)")
            XCTAssertEqual(rle.cocoString, entry["coco"] as? String, "case \(k)")
            XCTAssertEqual(rle.area, entry["area"] as? Int, "case \(k)")
            XCTAssertEqual(rle.area, entry["coco_area"] as? Int, "case \(k)")
            let box = EverythingFixtures.ints(entry["box_xyxy"])
            XCTAssertEqual([rle.boundingBox.x0, rle.boundingBox.y0, rle.boundingBox.x1, rle.boundingBox.y1], box, "case \(k)")
            let fromBitmap = mask.withUnsafeBufferPointer { MaskBox(mask: $0, width: width, height: height) }
            XCTAssertEqual(fromBitmap, rle.boundingBox, "case \(k)")
            // Round trips: bitmap -> RLE -> bitmap, string -> counts.
            XCTAssertEqual(rle.decode(), mask, "case \(k)")
            let parsed = try MaskRLE(height: height, width: width, cocoString: entry["coco"] as? String ?? "")
            XCTAssertEqual(parsed, rle, "case \(k)")
        }
    }

    func testCropPlacementEqualsPaddedMask() throws {
        // A 3×2 crop bitmap at (x 4, y 1) of a 7×5 image equals the zero-padded full mask.
        let crop = CropBox(x0: 4, y0: 1, x1: 6, y1: 4, layer: 1)
        let cropMask: [Bool] = [true, false, true, true, false, true]
        var full = [Bool](repeating: false, count: 5 * 7)
        for y in 0..<3 { for x in 0..<2 { full[(y + 1) * 7 + x + 4] = cropMask[y * 2 + x] } }
        let placed = cropMask.withUnsafeBufferPointer {
            MaskRLE(cropMask: $0, cropWidth: 2, cropHeight: 3, placedAt: crop, imageWidth: 7, imageHeight: 5)
        }
        XCTAssertEqual(placed, try MaskRLE(mask: full, height: 5, width: 7))
    }

    func testCOCOStringHandlesNegativeDeltasAndLargeCounts() throws {
        let counts = [1_000_000, 3, 5, 2, 70_000, 1, 0, 99]
        let string = COCOCompressedRLE.encode(counts)
        XCTAssertEqual(try COCOCompressedRLE.decode(string), counts)
    }

    func testInvalidRLEIsRejected() {
        XCTAssertThrowsError(try MaskRLE(height: 2, width: 2, counts: [1, 2])) { XCTAssertNotNil($0 as? EverythingError) }
        XCTAssertThrowsError(try MaskRLE(height: 2, width: 2, counts: [5, -1]))
        XCTAssertThrowsError(try MaskRLE(mask: [true, false, true], height: 2, width: 2))
        XCTAssertThrowsError(try COCOCompressedRLE.decode("1 "))   // space is outside the alphabet
        XCTAssertThrowsError(try COCOCompressedRLE.decode("P"))    // 'P' = 48 + 0x20: a group that never ends
    }

    func testSA1BDocumentRoundTrip() throws {
        let rle = try MaskRLE(mask: [false, true, true, false, true, false], height: 2, width: 3)
        let mask = GeneratedMask(segmentation: rle, box: rle.boundingBox, predictedIoU: 0.9, stabilityScore: 0.97,
                                 point: GridPoint(x: 1.5, y: 0.25), cropBox: CropBox(x0: 0, y0: 0, x1: 3, y1: 2, layer: 0))
        let document = SA1BDocument(fileName: "a.png", width: 3, height: 2, masks: [mask])
        let bytes = try document.encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        for key in ["\"file_name\"", "\"annotations\"", "\"segmentation\"", "\"counts\"", "\"size\":[2,3]",
                    "\"predicted_iou\"", "\"stability_score\"", "\"point_coords\":[[1.5,0.25]]", "\"crop_box\":[0,0,3,2]",
                    "\"area\":3", "\"bbox\":[1,0,1,1]"] {
            XCTAssertTrue(text.contains(key), "\(key) missing from \(text)")
        }
        XCTAssertEqual(try SA1BDocument.decode(bytes), document)
    }
}
