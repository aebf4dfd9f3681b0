import SAMQRuntime

// Request and response bodies of the HTTP API (docs/API.md).

/// `POST /api/images/{id}/predict`.
struct PredictRequest: Decodable, Sendable {
    /// `[[x, y], …]` in original-image pixels.
    var points: [[Double]]?
    /// One per point: 1 foreground, 0 background.
    var labels: [Int]?
    /// `[x0, y0, x1, y1]` in original-image pixels.
    var box: [Double]?
    var maskInput: MaskInputRequest?
    /// Three masks (default) or one.
    var multimask: Bool?
    /// Also return each mask as a base64 PNG (0/255).
    var png: Bool?
}

/// Low-res logits to refine from: a kept prediction's mask, or the logits themselves.
struct MaskInputRequest: Decodable, Sendable {
    /// Id of an earlier prediction on the same image.
    var prediction: String?
    /// Which of its masks (default: its best).
    var index: Int?
    /// Or: `L × L` little-endian float32 logits, base64.
    var logits: String?
}

struct RLEBody: Codable, Sendable {
    var size: [Int]
    var counts: String
}

struct PredictResponse: Encodable, Sendable {
    struct Mask: Encodable, Sendable {
        var index: Int
        var iouPrediction: Float
        var area: Int
        var rle: RLEBody
        var png: String?
    }
    struct Timings: Encodable, Sendable { var wait: Double; var decode: Double; var total: Double }
    var prediction: String
    var image: String
    var width: Int
    var height: Int
    var masks: [Mask]
    var best: Int
    var lowResSize: Int
    var timingsMs: Timings
}

/// `GET /api/images/{id}` and the upload's answer.
struct ImageStatus: Encodable, Sendable {
    struct Progress: Encodable, Sendable { var done: Int; var total: Int }
    struct Queue: Encodable, Sendable { var position: Int; var length: Int }
    struct Everything: Encodable, Sendable {
        var status: String
        var progress: Progress?
        var queue: Queue?
        var masks: Int?
        var error: String?
    }
    var id: String
    var width: Int
    var height: Int
    /// queued, encoding, ready or failed.
    var status: String
    /// Encoder blocks done / total while encoding.
    var progress: Progress?
    /// Place in the encoder queue while queued (0 = running).
    var queue: Queue?
    var encodeMs: Double?
    var error: String?
    var everything: Everything
}

/// `POST /api/images/{id}/everything`: the generator's options (all optional).
struct EverythingRequest: Decodable, Sendable {
    var pointsPerSide: Int?
    var pointsPerBatch: Int?
    var predIoUThresh: Float?
    var stabilityScoreThresh: Float?
    var boxNMSThresh: Float?
    var minMaskRegionArea: Int?
}

struct ModelInfo: Encodable, Sendable {
    struct Limits: Encodable, Sendable {
        var maxUploadBytes: Int
        var maxPixels: Int
        var cacheBudgetBytes: Int
        var maxQueuedJobs: Int
        var keptPredictions: Int
        var maxPoints: Int
    }
    struct Cache: Encodable, Sendable { var images: Int; var bytes: Int; var encoderQueue: Int }
    var model: String
    var variant: String
    var precision: String
    var imageSize: Int
    var embeddingShape: [Int]
    var lowResMaskSize: Int
    var multimaskOutputs: Int
    var threads: Int
    var decoders: Int
    var jpeg: Bool
    var limits: Limits
    var cache: Cache
}

struct HealthStatus: Encodable, Sendable { var status: String }
