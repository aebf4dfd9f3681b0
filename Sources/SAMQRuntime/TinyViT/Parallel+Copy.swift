extension Parallel {
    /// `destination[0..<count] = source[0..<count]` split over the workers (the
    /// ranges must not overlap). TinyViT moves whole token maps between its
    /// strip buffers; on one thread those copies were a serial ~4% of an encode.
    static func copy(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        let chunk = 1 << 15
        guard count > chunk else {
            destination.update(from: source, count: count)
            return
        }
        forEach(tasks: (count + chunk - 1) / chunk) { t, _ in
            let start = t * chunk
            (destination + start).update(from: source + start, count: min(chunk, count - start))
        }
    }
}
