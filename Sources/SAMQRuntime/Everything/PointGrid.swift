/// A prompt point `(x, y)`; normalized to `[0, 1]²` in a grid, pixels once scaled.
public struct GridPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// The point grids of `segment_anything.utils.amg` (`build_point_grid`,
/// `build_all_layer_point_grids`). Doubles, because NumPy builds them in float64
/// and the official code only rounds to float32 after scaling to the model input.
public enum PointGrid {
    /// `n × n` points evenly spaced in `[0, 1]²`, half a cell in from the edges,
    /// x varying fastest (row-major over y).
    public static func build(pointsPerSide n: Int) -> [GridPoint] {
        guard n > 0 else { return [] }
        let offset = 1.0 / (2.0 * Double(n))
        let side = linspace(from: offset, to: 1 - offset, count: n)
        return side.flatMap { y in side.map { x in GridPoint(x: x, y: y) } }
    }

    /// One grid per crop layer: layer `i` has `int(n / factor^i)` points per side.
    public static func allLayers(pointsPerSide n: Int, cropLayers: Int, downscaleFactor: Int) -> [[GridPoint]] {
        (0...max(0, cropLayers)).map { layer in
            var scale = 1
            for _ in 0..<layer { scale *= downscaleFactor }
            // Python's int(n / s) truncates the true quotient.
            return build(pointsPerSide: Int(Double(n) / Double(scale)))
        }
    }

    /// `np.linspace(start, stop, count)`: `start + i * step`, with the last
    /// value set to `stop` exactly, as NumPy does.
    static func linspace(from start: Double, to stop: Double, count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { start + Double($0) * step }
        values[count - 1] = stop
        return values
    }
}
