import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SAMQFormat
import SAMQImage
import SAMQRuntime

/// What the HTTP routes call: the embedding cache, the encoder queue, the
/// decoder pool and the kept predictions, around one loaded model.
public final class SegmentationService: Sendable {
    public let options: ServerOptions
    let modelName: String
    let config: ModelConfig
    let precision: String
    let embeddingShape: [Int]
    let store: ImageStore
    let encoder: EncoderWorker
    let decoders: DecoderPool
    let predictions: PredictionStore
    /// Decoder requests each take one predictor; this also bounds their threads.
    let decoderQueue = DispatchQueue(label: "samq.serve.decoder", qos: .userInitiated, attributes: .concurrent)

    /// - Parameters:
    ///   - encoder: runs every encode and segment-everything job.
    ///   - decoders: one per concurrent decoder request; they need no encoder
    ///     weights (build them with `.streamed` residency).
    public init(modelName: String, encoder: SamPredictor, decoders: [SamPredictor], options: ServerOptions,
                maxQueuedJobs: Int = 16) throws {
        guard !decoders.isEmpty else { throw ServerSetupError("at least one decoder predictor is needed") }
        self.options = options
        self.modelName = modelName
        config = encoder.config
        precision = encoder.imageEncoder.precision == .int8 ? "int8" : "f32"
        embeddingShape = encoder.imageEncoder.outputShape
        let embeddingBytes = embeddingShape.reduce(1, *) * MemoryLayout<Float>.size
        guard options.cacheBudgetBytes >= embeddingBytes else {
            throw ServerSetupError("--cache-budget \(options.cacheBudgetBytes) bytes cannot hold one image embedding (\(embeddingBytes) bytes)")
        }
        guard options.maxUploadBytes > 0, options.maxPixels > 0 else {
            throw ServerSetupError("--max-upload and --max-pixels must be positive")
        }
        store = ImageStore(budgetBytes: options.cacheBudgetBytes)
        self.encoder = EncoderWorker(predictor: encoder, maxQueued: maxQueuedJobs)
        self.decoders = DecoderPool(predictors: decoders)
        predictions = PredictionStore(capacity: options.keptPredictions)
    }

    var embeddingBytes: Int { embeddingShape.reduce(1, *) * MemoryLayout<Float>.size }

    // MARK: Images

    /// Decodes an uploaded PNG/JPEG and queues its encode unless the same
    /// pixels are cached already. Returns the entry and whether it is new.
    func upload(_ bytes: [UInt8]) async throws -> (entry: ImageEntry, isNew: Bool) {
        let maxPixels = options.maxPixels, inputSide = config.imageEncoder.imgSize
        let image: RGBImage = try await offload {
            do {
                let image = try ImageDecoder(maxPixels: maxPixels).decode(bytes: bytes)
                // Refused here rather than by the encoder later, so the upload itself gets the 400.
                _ = try ResizeLongestSide(targetLength: inputSide).checkedResizedSize(for: image.size)
                return image
            } catch let error as ImageError {
                if case .tooManyPixels = error { throw APIError.tooLarge("\(error) (--max-pixels)") }
                if case .tooElongated = error { throw APIError.badImage("\(error)") }
                throw APIError.badImage("cannot decode the uploaded image: \(error)")
            }
        }
        let id = try await offload { ImageID(image: image) }
        if let existing = store.entry(id) { return (existing, false) }
        let job = EncoderWorker.Job(id: id, kind: .encode)
        guard encoder.reserve(job) else {
            throw APIError(.serviceUnavailable, code: "encoder_busy",
                           "the encoder queue is full (\(encoder.maxQueued) jobs); try again shortly")
        }
        let (entry, isNew) = store.insert(ImageEntry(id: id, image: image, embeddingBytes: embeddingBytes))
        guard isNew else {
            encoder.cancelReservation(job)
            return (entry, false)
        }
        encoder.encode(entry) { [store] entry in
            if case .failed = entry.phase { store.remove(entry.id) }
            store.trim()
        }
        return (entry, true)
    }

    /// The entry for an id from a request path; 404 if unknown.
    func entry(_ rawID: String) throws -> ImageEntry {
        guard let id = ImageID(rawID), let entry = store.entry(id) else { throw APIError.unknownImage(rawID) }
        return entry
    }

    /// Waits for the entry's embedding.
    func embedding(of entry: ImageEntry) async throws -> [Float] {
        switch await entry.settled() {
        case .ready(let embedding, _): return embedding
        case .failed(let message): throw APIError.internalError(message)
        case .queued, .encoding: throw APIError.internalError("internal: the encode did not settle")
        }
    }

    func status(of entry: ImageEntry) -> ImageStatus {
        var status = ImageStatus(id: entry.id.value, width: entry.image.width, height: entry.image.height,
                                 status: entry.phase.name, everything: everythingStatus(of: entry))
        switch entry.phase {
        case .queued:
            status.queue = encoder.position(of: entry.id, kind: .encode).map { .init(position: $0.position, length: $0.length) }
        case .encoding(let done, let total):
            status.progress = .init(done: done, total: total)
        case .ready(_, let ms):
            status.encodeMs = ms
        case .failed(let message):
            status.error = message
        }
        return status
    }

    private func everythingStatus(of entry: ImageEntry) -> ImageStatus.Everything {
        switch entry.everything {
        case .none: return .init(status: "none")
        case .queued:
            return .init(status: "queued",
                         queue: encoder.position(of: entry.id, kind: .everything).map { .init(position: $0.position, length: $0.length) })
        case .running(let crop, let cropCount, let batch, let batchCount):
            return .init(status: "running", progress: .init(done: (crop - 1) * batchCount + batch, total: cropCount * batchCount))
        case .done(let document, _): return .init(status: "done", masks: document.annotations.count)
        case .failed(let message): return .init(status: "failed", error: message)
        }
    }

    // MARK: Prediction

    func predict(_ entry: ImageEntry, request: PredictRequest) async throws -> (PredictResponse, StoredPrediction) {
        let start = DispatchTime.now()
        let prompt = try ValidatedPrompt(request, width: entry.image.width, height: entry.image.height)
        let lowRes = config.lowResMaskSize
        var maskInput: [Float]?
        if let request = prompt.maskInputRequest {
            if let logits = request.logits {
                maskInput = try ValidatedPrompt.decodeLogits(logits, side: lowRes)
            } else if let id = request.prediction {
                guard let earlier = predictions.get(id) else { throw APIError.unknownPrediction(id) }
                guard earlier.image == entry.id else {
                    throw APIError.badPrompt("prediction \(id) belongs to another image")
                }
                let best = earlier.iouPredictions.indices.max { earlier.iouPredictions[$0] < earlier.iouPredictions[$1] } ?? 0
                let index = request.index ?? best
                guard earlier.iouPredictions.indices.contains(index) else {
                    throw APIError.badPrompt("prediction \(id) has masks 0..<\(earlier.iouPredictions.count), not \(index)")
                }
                maskInput = earlier.logits(mask: index)
            }
        }
        let embedding = try await embedding(of: entry)
        let mask = maskInput
        let waitDone = DispatchTime.now()
        let slot = await decoders.checkOut(preferring: entry.id)
        let decodeStart = DispatchTime.now()
        let result: Result<Prediction, Error> = await Result(catching: {
            try await offload(on: decoderQueue) { [entry] in
                if slot.image != entry.id {
                    slot.image = nil
                    try slot.predictor.setEmbedding(embedding, originalSize: ImageSize(width: entry.image.width,
                                                                                      height: entry.image.height))
                    slot.image = entry.id
                }
                return try slot.predictor.predict(points: prompt.points, labels: prompt.labels, box: prompt.box,
                                                  maskInput: mask, multimask: prompt.multimask)
            }
        })
        await decoders.checkIn(slot)
        let prediction: Prediction
        do {
            prediction = try result.get()
        } catch let error as SAMRuntimeError {
            throw APIError.badPrompt("\(error)")
        }
        let decodeMs = milliseconds(since: decodeStart)

        let wantPNG = request.png ?? false
        let (masks, pngs) = try await offload { () -> ([MaskRLE], [String?]) in
            var masks = [MaskRLE](), pngs = [String?]()
            for k in 0..<prediction.maskCount {
                let bits = prediction.mask(k).map { $0 != 0 }
                masks.append(try MaskRLE(mask: bits, height: prediction.height, width: prediction.width))
                pngs.append(wantPNG ? Data(try MaskPNG.encode(bits, width: prediction.width, height: prediction.height)).base64EncodedString() : nil)
            }
            return (masks, pngs)
        }
        let stored = predictions.add { id in
            StoredPrediction(id: id, image: entry.id, width: prediction.width, height: prediction.height, masks: masks,
                             iouPredictions: prediction.iouPredictions, lowResSize: prediction.lowResSize,
                             lowResLogits: prediction.lowResLogits)
        }
        let best = prediction.iouPredictions.indices.max { prediction.iouPredictions[$0] < prediction.iouPredictions[$1] } ?? 0
        let response = PredictResponse(
            prediction: stored.id, image: entry.id.value, width: prediction.width, height: prediction.height,
            masks: masks.indices.map { k in
                .init(index: k, iouPrediction: prediction.iouPredictions[k], area: masks[k].area,
                      rle: RLEBody(size: [masks[k].height, masks[k].width], counts: masks[k].cocoString), png: pngs[k])
            },
            best: best, lowResSize: prediction.lowResSize,
            timingsMs: .init(wait: Double(waitDone.uptimeNanoseconds - start.uptimeNanoseconds) / 1e6,
                             decode: decodeMs, total: milliseconds(since: start)))
        return (response, stored)
    }

    func prediction(_ id: String) throws -> StoredPrediction {
        guard let stored = predictions.get(id) else { throw APIError.unknownPrediction(id) }
        return stored
    }

    // MARK: Everything

    /// Runs the automatic mask generator (queued behind encodes) and waits for it.
    func everything(_ entry: ImageEntry, request: EverythingRequest) async throws -> (SA1BDocument, Double) {
        var options = AutomaticMaskGeneratorOptions()
        if let v = request.pointsPerSide {
            guard (1...64).contains(v) else { throw APIError.badRequest("pointsPerSide must be 1…64, got \(v)") }
            options.pointsPerSide = v
        }
        if let v = request.pointsPerBatch { options.pointsPerBatch = v }
        if let v = request.predIoUThresh { options.predIoUThresh = v }
        if let v = request.stabilityScoreThresh { options.stabilityScoreThresh = v }
        if let v = request.boxNMSThresh { options.boxNMSThresh = v }
        if let v = request.minMaskRegionArea { options.minMaskRegionArea = v }
        do {
            try options.validate()
        } catch {
            throw APIError.badRequest("\(error)")
        }
        if entry.claimEverything() {
            let job = EncoderWorker.Job(id: entry.id, kind: .everything)
            guard encoder.reserve(job) else {
                entry.setEverything(.none)
                throw APIError(.serviceUnavailable, code: "encoder_busy",
                               "the encoder queue is full (\(encoder.maxQueued) jobs); try again shortly")
            }
            encoder.everything(entry, options: options)
        }
        switch await entry.everythingSettled() {
        case .done(let document, let ms): return (document, ms)
        case .failed(let message): throw APIError.internalError(message)
        case .none, .queued, .running: throw APIError.internalError("internal: segment-everything did not settle")
        }
    }

    // MARK: Model

    var modelInfo: ModelInfo {
        ModelInfo(model: modelName, variant: config.variant, precision: precision, imageSize: config.imageEncoder.imgSize,
                  embeddingShape: embeddingShape, lowResMaskSize: config.lowResMaskSize,
                  multimaskOutputs: config.maskDecoder.numMultimaskOutputs, threads: ComputeThreads.count,
                  decoders: decoders.size, jpeg: ImageDecoder.supportsJPEG,
                  limits: .init(maxUploadBytes: options.maxUploadBytes, maxPixels: options.maxPixels,
                                cacheBudgetBytes: options.cacheBudgetBytes, maxQueuedJobs: encoder.maxQueued,
                                keptPredictions: predictions.capacity, maxPoints: ValidatedPrompt.maxPoints),
                  cache: .init(images: store.count, bytes: store.bytes, encoderQueue: encoder.length))
    }
}

/// The server cannot start with these settings.
public struct ServerSetupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A binary mask as a 0/255 grayscale PNG.
enum MaskPNG {
    static func encode(_ mask: [Bool], width: Int, height: Int) throws -> [UInt8] {
        try PNGEncoder.encode(try GrayImage(width: width, height: height, mask: mask))
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

extension SegmentationService {
    /// One line for the start-up banner.
    public var modelInfoSummary: String {
        "\(modelName), \(config.variant), \(precision), \(decoders.size) decoder\(decoders.size == 1 ? "" : "s")"
    }
}
