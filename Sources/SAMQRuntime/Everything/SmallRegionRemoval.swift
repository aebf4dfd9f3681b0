/// `remove_small_regions` of `segment_anything.utils.amg`: fills holes or drops
/// islands smaller than an area, using 8-connected components like
/// `cv2.connectedComponentsWithStats(mask, 8)`.
public enum SmallRegionRemoval {
    public enum Mode: Sendable {
        /// Fill background components smaller than the area.
        case holes
        /// Remove foreground components smaller than the area (keeping the largest if all are small).
        case islands
    }

    /// Returns the cleaned row-major bitmap and whether anything changed. As in
    /// the official code, "changed" means a small region was found.
    public static func apply(_ mask: [Bool], width: Int, height: Int, minimumArea: Double,
                             mode: Mode) throws(EverythingError) -> (mask: [Bool], changed: Bool) {
        guard width >= 0, height >= 0, mask.count == width * height else {
            throw .invalidOption("a \(width)×\(height) mask needs \(width * height) pixels, got \(mask.count)")
        }
        // Components of the set pixels in the working mask: the background for holes.
        let working = mode == .holes ? mask.map { !$0 } : mask
        let components = ConnectedComponents(mask: working, width: width, height: height)
        let sizes = components.sizes   // sizes[k] is the size of label k + 1
        let small = Set(sizes.indices.filter { Double(sizes[$0]) < minimumArea }.map { $0 + 1 })
        guard !small.isEmpty else { return (mask, false) }
        var fill: Set<Int>
        switch mode {
        case .holes:
            fill = small.union([0])   // label 0 is the mask itself
        case .islands:
            fill = Set((1...sizes.count).filter { !small.contains($0) })   // small is non-empty, so count >= 1
            if fill.isEmpty {
                // Every island is small: keep the largest (first on ties, like np.argmax).
                let largest = sizes.indices.max { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) } ?? 0
                fill = [largest + 1]
            }
        }
        return (components.labels.map { fill.contains(Int($0)) }, true)
    }
}

/// 8-connected components of a row-major bitmap. Labels start at 1 and are
/// numbered in raster order of each component's first pixel; 0 is background.
struct ConnectedComponents {
    private(set) var labels: [Int32]
    /// Pixel count of label `k + 1`.
    private(set) var sizes: [Int] = []

    init(mask: [Bool], width: Int, height: Int) {
        labels = [Int32](repeating: 0, count: width * height)
        var stack = [Int]()
        for start in 0..<(width * height) where mask[start] && labels[start] == 0 {
            let label = Int32(sizes.count + 1)
            var size = 0
            labels[start] = label
            stack.append(start)
            while let index = stack.popLast() {
                size += 1
                let x = index % width, y = index / width
                for dy in -1...1 {
                    let ny = y + dy
                    guard ny >= 0, ny < height else { continue }
                    for dx in -1...1 {
                        let nx = x + dx
                        guard nx >= 0, nx < width else { continue }
                        let neighbor = ny * width + nx
                        if mask[neighbor] && labels[neighbor] == 0 {
                            labels[neighbor] = label
                            stack.append(neighbor)
                        }
                    }
                }
            }
            sizes.append(size)
        }
    }
}
