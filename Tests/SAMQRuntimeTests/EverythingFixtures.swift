import Foundation
import XCTest
@testable import SAMQRuntime

/// The fixtures of Tests/Fixtures/make_amg_fixtures.py (Tests/Fixtures/amg).
enum EverythingFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/amg").standardizedFileURL.path
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL.path

    static func json(_ name: String) throws -> [String: Any] {
        let path = directory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            throw XCTSkip("\(path) not found: run Tests/Fixtures/make_amg_fixtures.py")
        }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("\(name) is not a JSON object")
        }
        return object
    }

    /// The cases of one section of units.json.
    static func units(_ section: String) throws -> [[String: Any]] {
        guard let cases = try json("units.json")[section] as? [[String: Any]], !cases.isEmpty else {
            throw FixtureError("units.json has no \(section) cases")
        }
        return cases
    }

    /// A '0'/'1' string, row-major.
    static func bitmap(_ string: Any?) -> [Bool] {
        ((string as? String) ?? "").utf8.map { $0 == UInt8(ascii: "1") }
    }

    static func ints(_ value: Any?) -> [Int] { (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue } }
    static func doubles(_ value: Any?) -> [Double] {
        (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue }
    }
}

/// A mask as sorted `[start, end)` intervals of set pixels (column-major), for fast IoUs.
struct MaskIntervals {
    var intervals: [(Int, Int)] = []
    var area = 0

    init(_ rle: MaskRLE) {
        rle.forEachRun { intervals.append(($0, $0 + $1)) }
        area = rle.area
    }

    func iou(_ other: MaskIntervals) -> Double {
        let x = intervals, y = other.intervals
        var i = 0, j = 0, intersection = 0
        while i < x.count && j < y.count {
            let lo = max(x[i].0, y[j].0), hi = min(x[i].1, y[j].1)
            if hi > lo { intersection += hi - lo }
            if x[i].1 < y[j].1 { i += 1 } else { j += 1 }
        }
        let union = area + other.area - intersection
        return union == 0 ? 1 : Double(intersection) / Double(union)
    }
}

/// How our masks compare with the official generator's.
struct MaskSetComparison {
    var officialCount: Int
    var ourCount: Int
    /// For each official mask, the best IoU with any of ours.
    var bestIoUs: [Double]

    init(official: [MaskRLE], ours: [MaskRLE]) {
        officialCount = official.count
        ourCount = ours.count
        let candidates = ours.map(MaskIntervals.init)
        bestIoUs = official.map { reference in
            let intervals = MaskIntervals(reference)
            return candidates.map { intervals.iou($0) }.max() ?? 0
        }
    }

    func matchedFraction(minimumIoU: Double) -> Double {
        officialCount == 0 ? 1 : Double(bestIoUs.filter { $0 >= minimumIoU }.count) / Double(officialCount)
    }

    var countRatio: Double { officialCount == 0 ? (ourCount == 0 ? 1 : .infinity) : Double(ourCount) / Double(officialCount) }
}
