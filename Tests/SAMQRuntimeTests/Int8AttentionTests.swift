import XCTest
@testable import SAMQRuntime

/// `Int8Attention` against an f32/Double reference of SAM's attention (with
/// and without decomposed rel-pos), and its tiling/threading invariance.
final class Int8AttentionTests: XCTestCase {
    struct Inputs {
        let q, k, v: [Float]
        let relPosH, relPosW: [Float]?
    }

    static func inputs(batches: Int, queries: Int, keys: Int, dim: Int, headDim: Int, relSize: Int?, seed: UInt64) -> Inputs {
        var random = Int8TestRandom(seed: seed)
        let q = random.normal(batches * queries * dim)
        let k = random.normal(batches * keys * dim)
        let v = random.normal(batches * keys * dim)
        let length = relSize.map { 2 * $0 - 1 } ?? 0
        return Inputs(q: q, k: k, v: v,
                      relPosH: relSize.map { _ in random.normal(length * headDim, std: 0.3) },
                      relPosW: relSize.map { _ in random.normal(length * headDim, std: 0.3) })
    }

    /// Official math in Double: softmax(q·kᵀ·scale + rel_h + rel_w)·v, with
    /// `get_rel_pos` for length 2·size−1 tables (no resize): R[i][j] = table[i − j + size − 1].
    static func reference(_ x: Inputs, batches: Int, queries: Int, keys: Int, heads: Int, headDim: Int,
                           relSize: Int?) -> [Float] {
        let dim = heads * headDim
        let scale = 1 / Double(headDim).squareRoot()
        var out = [Float](repeating: 0, count: batches * queries * dim)
        var logits = [Double](repeating: 0, count: keys)
        for b in 0..<batches {
            for h in 0..<heads {
                for i in 0..<queries {
                    let qi = (b * queries + i) * dim + h * headDim
                    for j in 0..<keys {
                        let kj = (b * keys + j) * dim + h * headDim
                        var s = 0.0
                        for c in 0..<headDim { s += Double(x.q[qi + c]) * Double(x.k[kj + c]) }
                        s *= scale
                        if let size = relSize, let th = x.relPosH, let tw = x.relPosW {
                            let (qh, qw, kh, kw) = (i / size, i % size, j / size, j % size)
                            var relH = 0.0, relW = 0.0
                            for c in 0..<headDim {
                                relH += Double(x.q[qi + c]) * Double(th[(qh - kh + size - 1) * headDim + c])
                                relW += Double(x.q[qi + c]) * Double(tw[(qw - kw + size - 1) * headDim + c])
                            }
                            s += relH + relW
                        }
                        logits[j] = s
                    }
                    let m = logits.max() ?? 0
                    var sum = 0.0
                    for j in 0..<keys { logits[j] = Foundation.exp(logits[j] - m); sum += logits[j] }
                    for c in 0..<headDim {
                        var acc = 0.0
                        for j in 0..<keys { acc += logits[j] * Double(x.v[(b * keys + j) * dim + h * headDim + c]) }
                        out[(b * queries + i) * dim + h * headDim + c] = Float(acc / sum)
                    }
                }
            }
        }
        return out
    }

    static func attention(heads: Int, headDim: Int, relSize: Int?, x: Inputs, context: Int8Context,
                           precision: Int8Attention.ValuePrecision = .int8) throws -> Int8Attention {
        let rel = try relSize.map {
            try RelativePositionBias(size: $0, headDim: headDim, relPosH: x.relPosH!, relPosW: x.relPosW!)
        }
        return try Int8Attention(heads: heads, headDim: headDim, relativePosition: rel, valuePrecision: precision,
                                 context: context)
    }

    static func run(_ attention: Int8Attention, _ x: Inputs, batches: Int, queries: Int, keys: Int) throws -> [Float] {
        let dim = attention.heads * attention.headDim
        var out = [Float](repeating: .nan, count: batches * queries * dim)
        try x.q.withUnsafeBufferPointer { q in
            try x.k.withUnsafeBufferPointer { k in
                try x.v.withUnsafeBufferPointer { v in
                    try out.withUnsafeMutableBufferPointer { o in
                        try attention.attend(batches: batches, queries: queries, keys: keys,
                                             q: q.baseAddress!, ldq: dim, k: k.baseAddress!, ldk: dim,
                                             v: v.baseAddress!, ldv: dim, output: o.baseAddress!, ldo: dim)
                    }
                }
            }
        }
        return out
    }

    func testMatchesReference() throws {
        struct Case { let batches, queries, keys, heads, headDim: Int; let relSize: Int? }
        let cases = [
            Case(batches: 1, queries: 64, keys: 64, heads: 2, headDim: 8, relSize: nil),   // global, no rel-pos
            Case(batches: 1, queries: 100, keys: 100, heads: 2, headDim: 16, relSize: 10), // global grid 10×10
            Case(batches: 3, queries: 25, keys: 25, heads: 3, headDim: 8, relSize: 5),     // windowed 5×5
            Case(batches: 1, queries: 7, keys: 300, heads: 4, headDim: 8, relSize: nil),   // decoder token→image
            Case(batches: 1, queries: 300, keys: 7, heads: 4, headDim: 8, relSize: nil),   // decoder image→token
        ]
        let context = Int8Context(pool: ThreadPool(threads: 2))
        for (index, c) in cases.enumerated() {
            let x = Self.inputs(batches: c.batches, queries: c.queries, keys: c.keys, dim: c.heads * c.headDim,
                           headDim: c.headDim, relSize: c.relSize, seed: UInt64(index + 1))
            let expected = Self.reference(x, batches: c.batches, queries: c.queries, keys: c.keys, heads: c.heads,
                                     headDim: c.headDim, relSize: c.relSize)
            for precision in [Int8Attention.ValuePrecision.int8, .float32] {
                let layer = try Self.attention(heads: c.heads, headDim: c.headDim, relSize: c.relSize, x: x,
                                          context: context, precision: precision)
                let actual = try Self.run(layer, x, batches: c.batches, queries: c.queries, keys: c.keys)
                let cosine = Int8Metrics.cosine(actual, expected)
                XCTAssertGreaterThanOrEqual(cosine, 0.999, "case \(index) \(precision)")
                XCTAssertLessThanOrEqual(Int8Metrics.relativeError(actual, reference: expected), 0.05,
                                         "case \(index) \(precision)")
            }
        }
    }

    /// The f32 fallback (`--encoder-attention f32`) is f32 arithmetic
    /// throughout: it meets the Double reference to f32 rounding, far inside
    /// what the int8 products reach, on odd shapes and both layouts.
    func testFloat32ScoresMatchReferenceToRounding() throws {
        struct Case { let batches, queries, keys, heads, headDim: Int; let relSize: Int? }
        let cases = [
            Case(batches: 1, queries: 100, keys: 100, heads: 2, headDim: 16, relSize: 10),
            Case(batches: 3, queries: 25, keys: 25, heads: 3, headDim: 12, relSize: 5),
            Case(batches: 1, queries: 1, keys: 37, heads: 1, headDim: 5, relSize: nil),
        ]
        for (index, c) in cases.enumerated() {
            let x = Self.inputs(batches: c.batches, queries: c.queries, keys: c.keys, dim: c.heads * c.headDim,
                                headDim: c.headDim, relSize: c.relSize, seed: UInt64(index + 40))
            let expected = Self.reference(x, batches: c.batches, queries: c.queries, keys: c.keys, heads: c.heads,
                                          headDim: c.headDim, relSize: c.relSize)
            var outputs: [[Float]] = []
            for threads in [1, 2] {
                let rel = try c.relSize.map {
                    try RelativePositionBias(size: $0, headDim: c.headDim, relPosH: x.relPosH!, relPosW: x.relPosW!)
                }
                let layer = try Int8Attention(heads: c.heads, headDim: c.headDim, relativePosition: rel,
                                              valuePrecision: .float32, scorePrecision: .float32,
                                              context: Int8Context(pool: ThreadPool(threads: threads)))
                outputs.append(try Self.run(layer, x, batches: c.batches, queries: c.queries, keys: c.keys))
            }
            XCTAssertLessThanOrEqual(Int8Metrics.relativeError(outputs[0], reference: expected), 1e-5, "case \(index)")
            XCTAssertEqual(outputs[0], outputs[1], "case \(index): thread count changed the result")
        }
        XCTAssertThrowsError(try Int8Attention(heads: 1, headDim: 8, valuePrecision: .int8, scorePrecision: .float32,
                                               context: Int8Context(pool: ThreadPool(threads: 1))))
    }

    /// The rel-pos term must matter: dropping it breaks the match (so the
    /// test above cannot pass by ignoring it).
    func testRelativePositionIsApplied() throws {
        let x = Self.inputs(batches: 1, queries: 36, keys: 36, dim: 16, headDim: 8, relSize: 6, seed: 5)
        let context = Int8Context(pool: ThreadPool(threads: 1))
        let expected = Self.reference(x, batches: 1, queries: 36, keys: 36, heads: 2, headDim: 8, relSize: 6)
        let without = try Self.run(try Self.attention(heads: 2, headDim: 8, relSize: nil, x: x, context: context), x,
                              batches: 1, queries: 36, keys: 36)
        XCTAssertLessThan(Int8Metrics.cosine(without, expected), 0.99)
    }

    func testTilingAndThreadsDoNotChangeResults() throws {
        let x = Self.inputs(batches: 2, queries: 49, keys: 49, dim: 32, headDim: 16, relSize: 7, seed: 11)
        var baseline: [Float]?
        for (threads, tile) in [(1, 1024), (2, 8), (3, 16), (2, 48)] {
            var layer = try Self.attention(heads: 2, headDim: 16, relSize: 7, x: x,
                                      context: Int8Context(pool: ThreadPool(threads: threads)))
            layer.maxQueryTile = tile
            layer.scoreTileBytes = 1 << 30
            let out = try Self.run(layer, x, batches: 2, queries: 49, keys: 49)
            if let baseline { XCTAssertEqual(out, baseline, "threads \(threads) tile \(tile)") } else { baseline = out }
        }
    }

    func testArrayEntryPoints() throws {
        let (heads, headDim, tokens, windows) = (2, 8, 16, 2)
        let dim = heads * headDim
        var random = Int8TestRandom(seed: 3)
        let qkv = random.normal(windows * tokens * 3 * dim)
        let context = Int8Context(pool: ThreadPool(threads: 2))
        let layer = try Int8Attention(heads: heads, headDim: headDim, context: context)
        let fused = try layer(qkv: qkv, batches: windows)
        // The same through the decoder entry point, one window at a time.
        for w in 0..<windows {
            var q: [Float] = [], k: [Float] = [], v: [Float] = []
            for t in 0..<tokens {
                let row = (w * tokens + t) * 3 * dim
                q += qkv[row..<row + dim]; k += qkv[row + dim..<row + 2 * dim]; v += qkv[row + 2 * dim..<row + 3 * dim]
            }
            let separate = try layer(q: q, k: k, v: v)
            XCTAssertEqual(Array(fused[w * tokens * dim..<(w + 1) * tokens * dim]), separate)
        }
        XCTAssertThrowsError(try layer(qkv: [Float](repeating: 0, count: 5), batches: 1))
        XCTAssertThrowsError(try layer(q: [Float](repeating: 0, count: dim), k: [Float](repeating: 0, count: dim),
                                       v: [Float](repeating: 0, count: 2 * dim)))
    }
}
