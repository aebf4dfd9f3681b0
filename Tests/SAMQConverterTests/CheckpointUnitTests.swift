import Foundation
import XCTest
@testable import SAMQConverter

/// Focused tests of the unpickler, strided reads and element conversion.
final class CheckpointUnitTests: XCTestCase {
    private func load(_ bytes: [UInt8], limits: PickleLimits = .standard) throws -> (PickleValue, PickleHeap) {
        try bytes.withUnsafeBytes { try Unpickler.load($0, path: "t.pkl", limits: limits) }
    }

    private func pickleError(_ bytes: [UInt8], limits: PickleLimits = .standard) -> CheckpointError? {
        do { _ = try load(bytes, limits: limits); return nil } catch { return error as? CheckpointError }
    }

    private func unicode(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [0x58] + withUnsafeBytes(of: UInt32(utf8.count).littleEndian, Array.init) + utf8
    }

    func testScalarsAndContainers() throws {
        // PROTO 2, MARK, BININT1 5, BININT -2, LONG1 8 bytes (-1), BINFLOAT 1.5, NONE, TRUE, 'hi', TUPLE, STOP
        let bytes: [UInt8] = [0x80, 2, 0x28, 0x4B, 5, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x8A, 2, 0xFF, 0xFF,
                              0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0x4E, 0x88] + unicode("hi") + [0x74, 0x2E]
        let (root, heap) = try load(bytes)
        XCTAssertEqual(heap.items(of: root), [.int(5), .int(-2), .int(-1), .float(1.5), .none, .bool(true), .string("hi")])
    }

    func testMemoSharesMutableContainers() throws {
        // EMPTY_DICT, BINPUT 0, POP, BINGET 0, 'k', NONE, SETITEM, POP, BINGET 0, STOP: the memoized dict sees the item.
        let bytes: [UInt8] = [0x80, 2, 0x7D, 0x71, 0, 0x30, 0x68, 0] + unicode("k") + [0x4E, 0x73, 0x30, 0x68, 0, 0x2E]
        let (root, heap) = try load(bytes)
        XCTAssertEqual(heap.pairs(of: root)?.map(\.key), [.string("k")])
    }

    func testReferenceCyclesAreHarmless() throws {
        // A list appended to itself: no recursion anywhere, so no crash and no leak loop.
        let bytes: [UInt8] = [0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]
        let (root, heap) = try load(bytes)
        XCTAssertEqual(heap.items(of: root), [root])
    }

    func testReusedBigTupleCannotExhaustMemory() {
        // One memoized 1000-pair list turned into a fresh dict by REDUCE over and over.
        var bytes: [UInt8] = [0x80, 2, 0x5D, 0x71, 0, 0x28]
        for _ in 0..<1000 { bytes += [0x4E, 0x4E, 0x86] }
        bytes += [0x65, 0x30]  // APPENDS, POP
        for _ in 0..<10_000 { bytes += Array("ccollections\nOrderedDict\n".utf8) + [0x68, 0, 0x85, 0x52, 0x30] }
        bytes += [0x4E, 0x2E]
        XCTAssertEqual(pickleError(bytes)?.caseName, "pickleLimitExceeded")
    }

    func testStackAndObjectLimits() {
        var limits = PickleLimits.standard
        limits.maxStack = 10
        XCTAssertEqual(pickleError([0x80, 2] + [UInt8](repeating: 0x4E, count: 11) + [0x2E], limits: limits)?.caseName,
                       "pickleLimitExceeded")
        limits = .standard
        limits.maxMemo = 2
        XCTAssertEqual(pickleError([0x80, 2, 0x4E, 0x71, 0, 0x71, 1, 0x71, 2, 0x2E], limits: limits)?.caseName,
                       "pickleLimitExceeded")
    }

    func testMarkIsolatesTheStackBelowIt() {
        // NONE, MARK, TUPLE2: CPython cannot see below a mark, neither can we.
        XCTAssertEqual(pickleError([0x80, 2, 0x4E, 0x4E, 0x28, 0x86, 0x2E])?.caseName, "malformedPickle")
    }

    func testHalfConversionIsExactForEveryBitPattern() {
        #if !(os(macOS) && arch(x86_64))
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = ElementConversion.halfToFloat(bits)
            if expected.isNaN { XCTAssertTrue(got.isNaN, "\(bits)") } else { XCTAssertEqual(got.bitPattern, expected.bitPattern, "\(bits)") }
        }
        #endif
    }

    func testStridedGatherWithHugeStrideOnUnitDim() {
        let storage: [Float] = [0, 1, 2, 3, 4, 5]
        // shape [3, 1, 2], strides [1, Int.max, 3]: element (i, 0, j) = storage[i + 3j].
        let layout = StridedLayout(offset: 0, shape: [3, 1, 2], strides: [1, Int.max, 3])
        XCTAssertEqual(layout.storageExtent, 6)
        XCTAssertFalse(layout.isContiguous)
        let values = storage.withUnsafeBytes { ElementConversion.floats(from: $0, dtype: .f32, layout: layout) }
        XCTAssertEqual(values, [0, 3, 1, 4, 2, 5])
    }

    func testViewOutsideStorageIsRefusedByConversion() {
        let storage: [Float] = [0, 1, 2]
        let layout = StridedLayout(offset: 1, shape: [3], strides: [1])
        XCTAssertNil(storage.withUnsafeBytes { ElementConversion.floats(from: $0, dtype: .f32, layout: layout) })
    }

    func testExtentOverflowIsDetected() {
        XCTAssertNil(StridedLayout(offset: 0, shape: [1 << 42 + 1, 1 << 22], strides: [1 << 22, 1]).elementCount)
        XCTAssertNil(StridedLayout(offset: 0, shape: [3], strides: [Int.max]).storageExtent)
        XCTAssertNil(StridedLayout(offset: Int.max, shape: [1], strides: [1]).storageExtent)
    }

    func testCRC32() {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }, 0xCBF4_3926)
        XCTAssertEqual([UInt8]().withUnsafeBytes { CRC32.checksum($0) }, 0)
    }
}
