#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The masks of one image in the SA-1B annotation layout (the same field
/// names and meanings as the official generator's `coco_rle` records):
///
/// ```
/// {"image": {"file_name", "width", "height"},
///  "annotations": [{"id", "segmentation": {"size": [h, w], "counts": COCO_STRING},
///                   "area", "bbox": [x, y, w, h], "predicted_iou", "stability_score",
///                   "point_coords": [[x, y]], "crop_box": [x, y, w, h]}]}
/// ```
///
/// `bbox` is the official generator's `box_xyxy_to_xywh` of the inclusive-max
/// mask box, so its w/h are one less than pycocotools' `toBbox`.
public struct SA1BDocument: Codable, Equatable, Sendable {
    public struct Image: Codable, Equatable, Sendable {
        public var fileName: String
        public var width: Int
        public var height: Int

        enum CodingKeys: String, CodingKey {
            case fileName = "file_name", width, height
        }
    }

    public struct Segmentation: Codable, Equatable, Sendable {
        /// `[height, width]`.
        public var size: [Int]
        public var counts: String
    }

    public struct Annotation: Codable, Equatable, Sendable {
        public var id: Int
        public var segmentation: Segmentation
        public var area: Int
        public var bbox: [Int]
        public var predictedIoU: Double
        public var stabilityScore: Double
        public var pointCoords: [[Double]]
        public var cropBox: [Int]

        enum CodingKeys: String, CodingKey {
            case id, segmentation, area, bbox
            case predictedIoU = "predicted_iou", stabilityScore = "stability_score"
            case pointCoords = "point_coords", cropBox = "crop_box"
        }
    }

    public var image: Image
    public var annotations: [Annotation]

    public init(fileName: String, width: Int, height: Int, masks: [GeneratedMask]) {
        image = Image(fileName: fileName, width: width, height: height)
        annotations = masks.enumerated().map { index, mask in
            Annotation(id: index,
                       segmentation: Segmentation(size: [mask.segmentation.height, mask.segmentation.width],
                                                  counts: mask.cocoCounts),
                       area: mask.area, bbox: mask.bbox,
                       predictedIoU: Double(mask.predictedIoU), stabilityScore: Double(mask.stabilityScore),
                       pointCoords: [[mask.point.x, mask.point.y]], cropBox: mask.cropBox.xywh)
        }
    }

    /// UTF-8 JSON with sorted keys (stable output for diffs).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    /// Parses a document; every mask's counts must decode to its size.
    public static func decode(_ bytes: [UInt8]) throws -> SA1BDocument {
        let document = try JSONDecoder().decode(SA1BDocument.self, from: Data(bytes))
        for annotation in document.annotations {
            let size = annotation.segmentation.size
            guard size.count == 2 else { throw EverythingError.invalidRLE("annotation \(annotation.id): size \(size)") }
            _ = try MaskRLE(height: size[0], width: size[1], cocoString: annotation.segmentation.counts)
        }
        return document
    }
}
