import XCTest
import Foundation
@testable import SAMQRuntime

final class ActivationTests: XCTestCase {
    /// The polynomial exp used by softmax stays within a few ulp of libm, SIMD and scalar alike.
    func testVectorExpAccuracy() {
        var worst: Double = 0
        var x: Float = -90
        while x <= 0 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0013 })
            let v = Softmax.exp(lanes)
            for lane in 0..<8 {
                let reference = Foundation.exp(Double(lanes[lane]))
                let scalar = Softmax.exp(lanes[lane])
                XCTAssertEqual(v[lane], scalar, "lane and scalar forms differ at \(lanes[lane])")
                if lanes[lane] >= -87.3 {
                    worst = max(worst, abs(Double(v[lane]) - reference) / reference)
                } else {
                    XCTAssertLessThan(v[lane], 2e-38)
                }
            }
            x += 0.0131
        }
        XCTAssertLessThan(worst, 4e-7)
    }

    func testSoftmaxSumsToOne() {
        for count in [1, 7, 8, 9, 196, 4096] {
            var row = (0..<count).map { Float(sin(Double($0) * 0.37) * 20) }
            row.withUnsafeMutableBufferPointer { Softmax.apply($0.baseAddress!, count: count) }
            let maxIndex = (0..<count).max { sin(Double($0) * 0.37) < sin(Double($1) * 0.37) } ?? 0
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(row.firstIndex(of: row.max() ?? 0), maxIndex)
        }
    }

    func testExactGELU() {
        // torch.nn.functional.gelu(torch.tensor([-3., -1., -0.5, 0., 0.5, 1., 3.]))
        let expected: [Float] = [-0.0040496, -0.1586553, -0.1542687, 0, 0.3457313, 0.8413447, 2.9959502]
        for (x, y) in zip([-3, -1, -0.5, 0, 0.5, 1, 3] as [Float], expected) {
            XCTAssertEqual(Activations.gelu(x), y, accuracy: 1e-6)
        }
    }
}
