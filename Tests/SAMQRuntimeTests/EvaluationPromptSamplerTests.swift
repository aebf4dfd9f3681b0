import XCTest
@testable import SAMQRuntime

/// `samq eval`'s prompts: the same for a seed on every run and platform, and
/// always valid for the predictor (inside the image, boxes containing their point).
final class EvaluationPromptSamplerTests: XCTestCase {
    func testSplitMix64MatchesTheReferenceStream() {
        // First outputs of the reference SplitMix64 (Vigna's splitmix64.c) seeded with 0.
        var random = SplitMix64(seed: 0)
        XCTAssertEqual(random.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(random.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(random.next(), 0x06C4_5D18_8009_454F)
    }

    func testSameSeedSamePromptsOtherSeedOthers() {
        let a = PromptSampler(seed: 7).prompts(count: 12, width: 640, height: 480)
        XCTAssertEqual(a, PromptSampler(seed: 7).prompts(count: 12, width: 640, height: 480))
        XCTAssertNotEqual(a, PromptSampler(seed: 8).prompts(count: 12, width: 640, height: 480))
        XCTAssertNotEqual(a, PromptSampler(seed: 7).prompts(count: 12, width: 640, height: 480, imageIndex: 1))
        // A longer run starts with the shorter one: --prompts only appends.
        XCTAssertEqual(Array(PromptSampler(seed: 7).prompts(count: 30, width: 640, height: 480).prefix(12)), a)
        XCTAssertTrue(PromptSampler(seed: 7).prompts(count: 0, width: 640, height: 480).isEmpty)
    }

    func testKindsCycle() {
        let kinds = PromptSampler(seed: 1).prompts(count: 7, width: 100, height: 100).map(\.kind)
        XCTAssertEqual(kinds, [.point, .box, .pointAndBox, .point, .box, .pointAndBox, .point])
    }

    func testPromptsLieInsideTheImageAndBoxesFollowTheRules() {
        for (width, height) in [(1, 1), (7, 300), (640, 480), (1024, 1024)] {
            for seed: UInt64 in [0, 1, 42, .max] {
                let w = Float(width), h = Float(height)
                for prompt in PromptSampler(seed: seed).prompts(count: 300, width: width, height: height, imageIndex: Int(seed % 5)) {
                    if let p = prompt.point {
                        XCTAssertTrue(p[0] >= 0 && p[0] < w && p[1] >= 0 && p[1] < h, "\(prompt) in \(width)×\(height)")
                    }
                    XCTAssertEqual(prompt.point != nil, prompt.kind != .box)
                    XCTAssertEqual(prompt.box != nil, prompt.kind != .point)
                    guard let b = prompt.box else { continue }
                    XCTAssertTrue(b[0] >= 0 && b[1] >= 0 && b[2] <= w && b[3] <= h, "\(prompt) in \(width)×\(height)")
                    let bw = b[2] - b[0], bh = b[3] - b[1]
                    XCTAssertTrue(bw >= 0.1 * w * 0.999 && bw <= 0.6 * w * 1.001, "box width \(bw) of \(w)")
                    XCTAssertTrue(bh >= 0.1 * h * 0.999 && bh <= 0.6 * h * 1.001, "box height \(bh) of \(h)")
                    if let p = prompt.point {
                        XCTAssertTrue(p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3], "\(prompt)")
                    }
                }
            }
        }
    }

    func testPointsSpreadOverTheImage() {
        // Uniform, not clustered: each quadrant of the image gets a fair share.
        let points = PromptSampler(seed: 3).prompts(count: 900, width: 200, height: 100).compactMap(\.point)
        var quadrants = [0, 0, 0, 0]
        for p in points { quadrants[(p[0] < 100 ? 0 : 1) + (p[1] < 50 ? 0 : 2)] += 1 }
        for count in quadrants { XCTAssertGreaterThan(count, points.count / 4 - 60) }
    }
}
