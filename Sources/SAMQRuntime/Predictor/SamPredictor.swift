import SAMQFormat
import SAMQImage

/// Segment Anything on one image at a time, shaped like the official
/// `SamPredictor`: set an image once (runs the image encoder), then predict
/// masks for any number of prompts (prompt encoder + mask decoder only).
///
/// Coordinates are original-image pixels `(x, y)`. They are mapped to the model
/// input frame like `ResizeLongestSide.apply_coords`.
///
/// Input checking is stricter than the official code, which accepts anything:
/// - labels must be 0 or 1 (the padding label -1 is internal);
/// - points and box corners must be finite and inside `[0, width] × [0, height]`
///   of the original image (edges inclusive; no tolerance beyond the image);
/// - a box must satisfy `x0 <= x1` and `y0 <= y1`;
/// - at least one point, a box or a mask input is required.
public final class SamPredictor {
    public let config: ModelConfig
    /// The config's encoder: SAM's ViT or MobileSAM's TinyViT.
    public let imageEncoder: any ImageEncoding
    let promptEncoder: PromptEncoder
    let maskDecoder: MaskDecoder

    /// The current image: embedding channels-last `[h*w][C]` and its sizes.
    private struct ImageState {
        var embedding: [Float]
        var originalSize: ImageSize
        var inputSize: ImageSize
    }
    private var state: ImageState?

    /// Builds the three networks from `weights`. `residency` chooses whether the
    /// ViT encoder keeps its block weights decoded (default) or streams them per
    /// encode (TinyViT is always resident).
    ///
    /// When `weights` allow concurrent reads (a `.samq` file), the image
    /// encoder is built on one compute thread while the prompt encoder and the
    /// mask decoder are built on another: they read disjoint tensors, and
    /// both halves are single-threaded decompression, checksums and weight
    /// preparation (~15 ms each for vit_t). An error is the one a serial
    /// build would have met first (encoder, prompt encoder, decoder).
    public convenience init(weights: WeightProvider, residency: ImageEncoderViT.WeightResidency = .resident) throws {
        try self.init(weights: weights, residency: residency, concurrently: weights.allowsConcurrentReads)
    }

    /// `concurrently: false` builds the networks one after another (what
    /// `PredictorConstructionTests` compares with).
    init(weights: WeightProvider, residency: ImageEncoderViT.WeightResidency, concurrently: Bool) throws {
        config = weights.config
        let makeEncoder = { try ImageEncoderFactory.make(weights: weights, residency: residency) }
        let makeDecoding = { (try PromptEncoder(weights: weights), try MaskDecoder(weights: weights)) }
        guard concurrently else {
            imageEncoder = try makeEncoder()
            (promptEncoder, maskDecoder) = try makeDecoding()
            return
        }
        var encoder: Result<any ImageEncoding, any Error> = .failure(SAMRuntimeError.invalidConfig("not built"))
        var decoding: Result<(PromptEncoder, MaskDecoder), any Error> = .failure(SAMRuntimeError.invalidConfig("not built"))
        withUnsafeMutablePointer(to: &encoder) { encoderSlot in
            withUnsafeMutablePointer(to: &decoding) { decodingSlot in
                ThreadPool.shared.parallelFor(count: 2) { task, _ in
                    if task == 0 {
                        encoderSlot.pointee = Result { try makeEncoder() }
                    } else {
                        decodingSlot.pointee = Result { try makeDecoding() }
                    }
                }
            }
        }
        imageEncoder = try encoder.get()
        (promptEncoder, maskDecoder) = try decoding.get()
    }

    // MARK: Image

    /// Whether an image (or embedding) is set.
    public var isImageSet: Bool { state != nil }

    public func resetImage() {
        state = nil
        maskDecoder.clearCache()
    }

    /// The resize every image and prompt goes through (`ResizeLongestSide(img_size)`).
    public var transform: ResizeLongestSide { ResizeLongestSide(targetLength: config.imageEncoder.imgSize) }

    /// Resizes (Pillow-exact bilinear), normalizes and pads the image, then runs
    /// the image encoder, like `SamPredictor.set_image` with an RGB image.
    public func setImage(_ image: RGBImage) throws {
        let resized = try transform.apply(to: image)
        try validateSizes(originalSize: image.size, inputSize: resized.size)
        maskDecoder.clearCache()   // the previous image's decoder work
        let embedding = try imageEncoder.encode(resizedImage: resized)
        state = ImageState(embedding: Tensor.transpose(embedding, rows: config.imageEncoder.outChans,
                                                       cols: config.embeddingSize * config.embeddingSize),
                           originalSize: image.size, inputSize: resized.size)
    }

    /// Runs the image encoder on an already preprocessed (resized, normalized,
    /// zero-padded) `3 × S × S` tensor, like `set_torch_image` after `preprocess`.
    public func setImageTensor(_ input: [Float], originalSize: ImageSize, inputSize: ImageSize) throws {
        try validateSizes(originalSize: originalSize, inputSize: inputSize)
        maskDecoder.clearCache()   // the previous image's decoder work
        let embedding = try imageEncoder.encode(input)
        state = ImageState(embedding: Tensor.transpose(embedding, rows: config.imageEncoder.outChans,
                                                       cols: config.embeddingSize * config.embeddingSize),
                           originalSize: originalSize, inputSize: inputSize)
    }

    /// Uses a cached `C × g × g` image embedding (e.g. from `samq encode`).
    /// An embedding of another model's shape is rejected.
    /// `inputSize` defaults to `transform.checkedResizedSize(for: originalSize)`.
    public func setEmbedding(_ embedding: [Float], originalSize: ImageSize, inputSize: ImageSize? = nil) throws {
        try validateOriginal(originalSize)
        let input = try inputSize ?? transform.checkedResizedSize(for: originalSize)
        try validateSizes(originalSize: originalSize, inputSize: input)
        let shape = imageEncoder.outputShape
        guard embedding.count == shape.reduce(1, *) else {
            throw SAMRuntimeError.inputShapeMismatch(what: "image embedding", expected: shape, actualCount: embedding.count)
        }
        guard embedding.allSatisfy({ $0.isFinite }) else { throw SAMRuntimeError.nonFiniteInput(what: "image embedding") }
        maskDecoder.clearCache()
        state = ImageState(embedding: Tensor.transpose(embedding, rows: shape[0], cols: shape[1] * shape[2]),
                           originalSize: originalSize, inputSize: input)
    }

    /// The current image embedding, `C × g × g` (as `get_image_embedding`, without the batch axis).
    public func imageEmbedding() throws -> [Float] {
        guard let state else { throw SAMRuntimeError.imageNotSet }
        let g = config.embeddingSize
        return Tensor.transpose(state.embedding, rows: g * g, cols: config.imageEncoder.outChans)
    }

    private func validateOriginal(_ originalSize: ImageSize) throws {
        guard originalSize.height > 0, originalSize.width > 0 else {
            throw SAMRuntimeError.invalidImageSize("original size \(originalSize.height)×\(originalSize.width) is empty")
        }
    }

    private func validateSizes(originalSize: ImageSize, inputSize: ImageSize) throws {
        let s = config.imageEncoder.imgSize
        try validateOriginal(originalSize)
        // set_torch_image requires the long side to equal img_size; the short
        // side fits inside the padded square.
        guard inputSize.height > 0, inputSize.width > 0, inputSize.height <= s, inputSize.width <= s,
              max(inputSize.height, inputSize.width) == s else {
            throw SAMRuntimeError.invalidImageSize(
                "input size \(inputSize.height)×\(inputSize.width) must fit \(s)×\(s) with its long side equal to \(s)")
        }
    }

    // MARK: Prediction

    /// Predicts masks for the prompts on the current image, like `SamPredictor.predict`.
    ///
    /// - Parameters:
    ///   - points: point prompts `(x, y)` in original-image pixels.
    ///   - labels: one label per point: 1 foreground, 0 background.
    ///   - box: `[x0, y0, x1, y1]` in original-image pixels.
    ///   - maskInput: low-res logits `1 × L × L` (L = `config.lowResMaskSize`), typically
    ///     `Prediction.lowResLogits(mask:)` of an earlier prediction.
    ///   - multimask: three disambiguated masks (true) or one.
    public func predict(points: [(x: Float, y: Float)] = [], labels: [Int] = [], box: [Float]? = nil,
                        maskInput: [Float]? = nil, multimask: Bool = true) throws -> Prediction {
        let decoded = try predictLowResolution(points: points, labels: labels, box: box, maskInput: maskInput,
                                               multimask: multimask)
        guard let state else { throw SAMRuntimeError.imageNotSet }
        let lowRes = config.lowResMaskSize
        // Sam.postprocess_masks, then `> mask_threshold`, row by row (no image-sized float planes).
        let masks = try MaskPostprocessing.thresholdedMasks(decoded.logits, channels: decoded.maskCount, height: lowRes,
                                                            width: lowRes, paddedSize: config.imageEncoder.imgSize,
                                                            resizedSize: state.inputSize,
                                                            originalSize: state.originalSize,
                                                            threshold: config.maskThreshold)
        return Prediction(maskCount: decoded.maskCount, height: state.originalSize.height,
                          width: state.originalSize.width, masks: masks, iouPredictions: decoded.iouPredictions,
                          lowResSize: lowRes, lowResLogits: decoded.logits)
    }

    /// The prompt encoder and mask decoder alone: low-resolution logits
    /// (`maskCount × L × L`) and IoU predictions, without upscaling to the
    /// image. What interactive refinement and the automatic generator need,
    /// and what "decoder time" measures.
    public func predictLowResolution(points: [(x: Float, y: Float)] = [], labels: [Int] = [], box: [Float]? = nil,
                                     maskInput: [Float]? = nil,
                                     multimask: Bool = true) throws -> (logits: [Float], iouPredictions: [Float], maskCount: Int) {
        guard let state else { throw SAMRuntimeError.imageNotSet }
        let height = state.originalSize.height, width = state.originalSize.width
        guard !points.isEmpty || box != nil || maskInput != nil else { throw SAMRuntimeError.noPrompt }
        guard points.count == labels.count else {
            throw SAMRuntimeError.labelCountMismatch(points: points.count, labels: labels.count)
        }
        for (i, point) in points.enumerated() {
            guard point.x.isFinite, point.y.isFinite else {
                throw SAMRuntimeError.nonFiniteCoordinate("point \(i) (\(point.x), \(point.y))")
            }
            guard labels[i] == 0 || labels[i] == 1 else { throw SAMRuntimeError.invalidLabel(index: i, label: labels[i]) }
            guard point.x >= 0, point.y >= 0, point.x <= Float(width), point.y <= Float(height) else {
                throw SAMRuntimeError.pointOutsideImage(index: i, x: point.x, y: point.y, width: width, height: height)
            }
        }
        if let box {
            guard box.count == 4 else { throw SAMRuntimeError.invalidBox("expected 4 values [x0, y0, x1, y1], got \(box.count)") }
            guard box.allSatisfy({ $0.isFinite }) else { throw SAMRuntimeError.nonFiniteCoordinate("box \(box)") }
            guard box[0] <= box[2], box[1] <= box[3] else {
                throw SAMRuntimeError.invalidBox("\(box) has x1 < x0 or y1 < y0")
            }
            guard box[0] >= 0, box[1] >= 0, box[2] <= Float(width), box[3] <= Float(height) else {
                throw SAMRuntimeError.invalidBox("\(box) lies outside the \(width)×\(height) image")
            }
        }
        let lowRes = config.lowResMaskSize
        if let maskInput {
            guard maskInput.count == lowRes * lowRes else {
                throw SAMRuntimeError.inputShapeMismatch(what: "mask input", expected: [1, lowRes, lowRes],
                                                         actualCount: maskInput.count)
            }
            guard maskInput.allSatisfy({ $0.isFinite }) else { throw SAMRuntimeError.nonFiniteInput(what: "mask input") }
        }

        // ResizeLongestSide.apply_coords / apply_boxes: float64 arithmetic, then float32.
        let mapped = transform.applyCoords(points.map { (x: Double($0.x), y: Double($0.y)) },
                                           originalSize: state.originalSize)
        let prompts = zip(mapped, labels).map { PromptPoint(x: $0.x, y: $0.y, label: $1) }
        let inputBox = box.map { b -> [Float] in
            let corners = transform.applyCoords([(x: Double(b[0]), y: Double(b[1])), (x: Double(b[2]), y: Double(b[3]))],
                                                originalSize: state.originalSize)
            return [corners[0].x, corners[0].y, corners[1].x, corners[1].y]
        }

        let sparse = promptEncoder.sparseEmbeddings(points: prompts, box: inputBox)
        let dense = promptEncoder.denseEmbeddings(mask: maskInput)
        let decoded = try maskDecoder.predict(image: state.embedding, imagePE: promptEncoder.densePositionalEncoding,
                                          sparse: sparse, dense: dense, side: config.embeddingSize,
                                          multimask: multimask)
        return (decoded.masks, decoded.iou, decoded.count)
    }
}
