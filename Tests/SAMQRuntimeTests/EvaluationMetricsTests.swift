import XCTest
@testable import SAMQRuntime

/// The metrics `samq eval` reports, against values worked out by hand (and
/// NumPy's `np.percentile` for the percentiles).
final class EvaluationMetricsTests: XCTestCase {
    func testTensorComparisonKnownValues() throws {
        // x = [1, 2, 3], r = [1, 2, 4]: x·r = 17, ‖x‖² = 14, ‖r‖² = 21, ‖x − r‖² = 1.
        let c = try TensorComparison(model: [1, 2, 3], reference: [1, 2, 4])
        XCTAssertEqual(c.cosine, 17 / (14.0 * 21).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(c.sqnrDecibels, 10 * log10(21.0), accuracy: 1e-12)  // 13.222 dB
        XCTAssertEqual(c.relativeL2, (1 / 21.0).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(c.count, 3)

        let orthogonal = try TensorComparison(model: [1, 0], reference: [0, 1])
        XCTAssertEqual(orthogonal.cosine, 0, accuracy: 1e-12)
        XCTAssertEqual(orthogonal.sqnrDecibels, 10 * log10(0.5), accuracy: 1e-12)  // error larger than signal: −3 dB

        let opposite = try TensorComparison(model: [-2, -4], reference: [1, 2])
        XCTAssertEqual(opposite.cosine, -1, accuracy: 1e-12)
    }

    func testIdenticalAndZeroTensors() throws {
        let same = try TensorComparison(model: [0.5, -3, 7], reference: [0.5, -3, 7])
        XCTAssertEqual(same.cosine, 1, accuracy: 1e-15)
        XCTAssertEqual(same.sqnrDecibels, .infinity)
        XCTAssertEqual(same.relativeL2, 0)
        let zeros = try TensorComparison(model: [0, 0], reference: [0, 0])
        XCTAssertEqual(zeros.cosine, 1)
        let againstZero = try TensorComparison(model: [1, 0], reference: [0, 0])
        XCTAssertEqual(againstZero.cosine, 0)
        XCTAssertEqual(againstZero.relativeL2, .infinity)
    }

    func testMergedComparisonWeighsEveryElement() throws {
        let whole = try TensorComparison(model: [1, 2, 3], reference: [1, 2, 4])
        let parts = try TensorComparison(model: [1, 2], reference: [1, 2])
            .merged(with: try TensorComparison(model: [3], reference: [4]))
        XCTAssertEqual(parts, whole)
        XCTAssertEqual(TensorComparison().merged(with: whole), whole)
    }

    func testLengthMismatchIsAnError() {
        XCTAssertThrowsError(try TensorComparison(model: [1, 2], reference: [1], what: "embedding")) { error in
            XCTAssertEqual(error as? EvaluationError, .lengthMismatch(what: "embedding", model: 2, reference: 1))
        }
        XCTAssertThrowsError(try maskIoU([1, 0, 1], [1, 0]))
    }

    func testMaskIoUKnownValues() throws {
        XCTAssertEqual(try maskIoU([1, 1, 0, 0], [1, 0, 1, 0]), 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(try maskIoU([1, 1, 1, 0], [0, 1, 1, 0]), 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(try maskIoU([0, 0, 0], [0, 0, 0]), 1, "two empty masks agree")
        XCTAssertEqual(try maskIoU([0, 0, 0], [0, 1, 0]), 0)
        XCTAssertEqual(try maskIoU([255, 1, 0], [1, 255, 0]), 1, "any non-zero byte is foreground")
        // Slices of a multi-mask buffer keep their own indices.
        let planes: [UInt8] = [1, 1, 0, 0, /* second plane */ 1, 0, 1, 0]
        XCTAssertEqual(try maskIoU(planes[0..<4], planes[4..<8]), 1.0 / 3, accuracy: 1e-15)
    }

    func testPercentileMatchesNumPyLinear() throws {
        // np.percentile([1, 2, 3, 4, 5], [0, 5, 50, 90, 100]) -> [1, 1.2, 3, 4.6, 5]
        let sorted: [Double] = [1, 2, 3, 4, 5]
        XCTAssertEqual(try percentile(sorted: sorted, 0), 1)
        XCTAssertEqual(try percentile(sorted: sorted, 5), 1.2, accuracy: 1e-12)
        XCTAssertEqual(try percentile(sorted: sorted, 50), 3)
        XCTAssertEqual(try percentile(sorted: sorted, 90), 4.6, accuracy: 1e-12)
        XCTAssertEqual(try percentile(sorted: sorted, 100), 5)
        XCTAssertEqual(try percentile(sorted: [7], 5), 7)
        XCTAssertThrowsError(try percentile(sorted: [], 5))
        XCTAssertThrowsError(try percentile(sorted: [1], 101))
        XCTAssertEqual(median([3, 1, 2]), 2)
        XCTAssertEqual(median([4, 1, 3, 2]), 2.5)
        XCTAssertEqual(median([]), 0)
    }

    func testSummaryStatistics() throws {
        let s = try SummaryStatistics([0.5, 1, 0.9, 0.7])
        XCTAssertEqual(s.count, 4)
        XCTAssertEqual(s.mean, 0.775, accuracy: 1e-12)
        XCTAssertEqual(s.min, 0.5)
        XCTAssertEqual(s.max, 1)
        XCTAssertEqual(s.p5, 0.53, accuracy: 1e-12)  // np.percentile([.5, .7, .9, 1], 5)
        XCTAssertThrowsError(try SummaryStatistics([])) { error in
            XCTAssertEqual(error as? EvaluationError, .empty(what: "summary statistics"))
        }
    }
}
