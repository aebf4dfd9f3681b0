/// `window_partition` / `window_unpartition` on channels-last token grids.
struct WindowPartition {
    let height: Int
    let width: Int
    let windowSize: Int
    let channels: Int

    var paddedHeight: Int { (height + windowSize - 1) / windowSize * windowSize }
    var paddedWidth: Int { (width + windowSize - 1) / windowSize * windowSize }
    var windowsDown: Int { paddedHeight / windowSize }
    var windowsAcross: Int { paddedWidth / windowSize }
    var windowCount: Int { windowsDown * windowsAcross }
    var tokensPerWindow: Int { windowSize * windowSize }

    /// `[H][W][C]` → `[windows][ws*ws][C]`, zero-padding bottom and right as
    /// `F.pad` does. Padded tokens then go through qkv like any other token.
    func partition(_ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: windowCount * tokensPerWindow * channels)
        forEachToken { source, window in
            out.withUnsafeMutableBufferPointer { dst in
                x.withUnsafeBufferPointer { src in
                    (dst.baseAddress! + window * channels).update(from: src.baseAddress! + source * channels,
                                                                  count: channels)
                }
            }
        }
        return out
    }

    /// `[windows][ws*ws][C]` → `[H][W][C]`, dropping the padding.
    func unpartition(_ windows: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: height * width * channels)
        forEachToken { source, window in
            out.withUnsafeMutableBufferPointer { dst in
                windows.withUnsafeBufferPointer { src in
                    (dst.baseAddress! + source * channels).update(from: src.baseAddress! + window * channels,
                                                                  count: channels)
                }
            }
        }
        return out
    }

    /// Calls `body(gridToken, windowedToken)` for every real (unpadded) token.
    private func forEachToken(_ body: (Int, Int) -> Void) {
        for y in 0..<height {
            for x in 0..<width {
                let window = (y / windowSize) * windowsAcross + x / windowSize
                let inner = (y % windowSize) * windowSize + x % windowSize
                body(y * width + x, window * tokensPerWindow + inner)
            }
        }
    }
}
