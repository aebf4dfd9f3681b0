import Dispatch
import SAMQImage
import SAMQRuntime

/// The one image encoder: jobs run one at a time, in arrival order, on their
/// own thread. An upload is queued only after its whole body has arrived and
/// decoded, so a slow or aborted client never holds the encoder.
///
/// Segment-everything runs here too: it reuses the image's cached embedding
/// for the whole-image crop (and encodes any smaller crops itself) and
/// decodes its point grid on all compute threads, so it must not overlap
/// another encode.
final class EncoderWorker: @unchecked Sendable {
    enum Kind: Sendable, Equatable { case encode, everything }
    struct Job: Sendable, Equatable { var id: ImageID; var kind: Kind }

    /// Only touched on `queue`.
    private let predictor: SamPredictor
    private let queue = DispatchQueue(label: "samq.serve.encoder", qos: .userInitiated)
    /// Jobs accepted and not finished, in order; the first one is running.
    private let jobs = Locked([Job]())
    let maxQueued: Int

    init(predictor: SamPredictor, maxQueued: Int) {
        self.predictor = predictor
        self.maxQueued = maxQueued
    }

    /// `(position, length)`: 0 while running, k when k jobs run or wait before it.
    func position(of id: ImageID, kind: Kind) -> (position: Int, length: Int)? {
        jobs.withLock { jobs in
            jobs.firstIndex(of: Job(id: id, kind: kind)).map { ($0, jobs.count) }
        }
    }

    var length: Int { jobs.withLock { $0.count } }

    /// Reserves a place in the queue, or returns false when it is full.
    func reserve(_ job: Job) -> Bool {
        jobs.withLock { jobs in
            guard jobs.count < maxQueued else { return false }
            jobs.append(job)
            return true
        }
    }

    /// Gives back a place reserved for a job that turned out not to be needed.
    func cancelReservation(_ job: Job) { finish(job) }

    /// Encodes the entry's image (the place must have been reserved), then calls `settled`.
    func encode(_ entry: ImageEntry, settled: @escaping @Sendable (ImageEntry) -> Void) {
        queue.async { [self] in
            let start = DispatchTime.now()
            entry.setPhase(.encoding(done: 0, total: predictor.config.imageEncoder.depth))
            predictor.imageEncoder.progress = { done, total in entry.setPhase(.encoding(done: done, total: total)) }
            defer {
                predictor.imageEncoder.progress = nil
                predictor.resetImage()
                finish(Job(id: entry.id, kind: .encode))
            }
            do {
                try predictor.setImage(entry.image)
                let embedding = try predictor.imageEmbedding()
                entry.setPhase(.ready(embedding: embedding, encodeMilliseconds: milliseconds(since: start)))
            } catch {
                entry.setPhase(.failed("the image encoder failed: \(error)"))
            }
            settled(entry)
        }
    }

    /// Runs the automatic mask generator on the entry's image (place reserved, entry claimed).
    func everything(_ entry: ImageEntry, options: AutomaticMaskGeneratorOptions) {
        queue.async { [self] in
            let start = DispatchTime.now()
            defer {
                predictor.resetImage()
                finish(Job(id: entry.id, kind: .everything))
            }
            do {
                let generator = try AutomaticMaskGenerator(predictor: predictor, options: options)
                var cached: [Float]?
                if case .ready(let embedding, _) = entry.phase { cached = embedding }
                let result = try generator.generate(entry.image, imageEmbedding: cached) { progress in
                    entry.setEverything(.running(crop: progress.crop, cropCount: progress.cropCount,
                                                 batch: progress.batch, batchCount: progress.batchCount))
                }
                let document = SA1BDocument(fileName: "\(entry.id).png", width: entry.image.width,
                                            height: entry.image.height, masks: result.masks)
                entry.setEverything(.done(document, milliseconds: milliseconds(since: start)))
            } catch {
                entry.setEverything(.failed("segment-everything failed: \(error)"))
            }
        }
    }

    private func finish(_ job: Job) {
        jobs.withLock { jobs in
            if let index = jobs.firstIndex(of: job) { jobs.remove(at: index) }
        }
    }
}

func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}
