import SAMQImage

/// Decodes single foreground points on the current image of a `SamPredictor`,
/// returning *logits* (not thresholded masks), which the generator needs for
/// the stability score (`predict_torch(..., return_logits=True)`).
///
/// Built once per crop after `setImage`: it keeps the embedding channels-last
/// and the dense "no mask" embedding, both shared by every point of the crop.
/// Its methods only read, so points may be decoded concurrently.
struct GridPointDecoder {
    let predictor: SamPredictor
    private let embedding: [Float]
    private let dense: DenseEmbedding
    /// The crop's size and its size after `ResizeLongestSide`.
    let cropSize: ImageSize
    let inputSize: ImageSize

    init(predictor: SamPredictor, cropSize: ImageSize) throws {
        self.predictor = predictor
        let config = predictor.config
        let grid = config.embeddingSize
        // imageEmbedding() is C × g × g; the decoder reads [g*g][C].
        embedding = Tensor.transpose(try predictor.imageEmbedding(), rows: config.imageEncoder.outChans, cols: grid * grid)
        dense = predictor.promptEncoder.denseEmbeddings(mask: nil)
        self.cropSize = cropSize
        inputSize = predictor.transform.resizedSize(for: cropSize)
    }

    /// Multimask decode of one foreground point given in crop pixels (float64,
    /// as the official grid): the low-res logits `[masks][L*L]` and IoU predictions.
    func decode(point: GridPoint) throws -> (lowRes: [Float], iou: [Float], count: Int) {
        let config = predictor.config
        // apply_coords in float64, then float32 (the prompt encoder's dtype).
        let mapped = predictor.transform.applyCoords([(x: point.x, y: point.y)], originalSize: cropSize)[0]
        let sparse = predictor.promptEncoder.sparseEmbeddings(points: [PromptPoint(x: mapped.x, y: mapped.y, label: 1)],
                                                              box: nil)
        let decoded = try predictor.maskDecoder.predict(image: embedding, imagePE: predictor.promptEncoder.densePositionalEncoding,
                                                    sparse: sparse, dense: dense, side: config.embeddingSize,
                                                    multimask: true)
        return (decoded.masks, decoded.iou, decoded.count)
    }
}
