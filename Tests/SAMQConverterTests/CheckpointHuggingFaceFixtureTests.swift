import Foundation
import XCTest
@testable import SAMQConverter

/// The shared SAM fixtures: a Hugging Face `save_pretrained` safetensors and the
/// official .pth / .safetensors of the same weights must give bit-identical
/// tensors under official names.
final class CheckpointHuggingFaceFixtureTests: XCTestCase {
    private func fixture(_ relative: String) throws -> String {
        let path = CheckpointFixtures.path(CheckpointFixtures.sam, relative)
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("fixture \(relative) not generated yet") }
        return path
    }

    func testHuggingFaceFileMatchesOfficialCheckpointBitForBit() throws {
        let official = try CheckpointLoader.open(path: try fixture("tiny_a.pth"))
        let hf = try CheckpointLoader.open(path: try fixture("hf_tiny_a/model.safetensors"))
        XCTAssertEqual(hf.format, .safetensors)
        let officialNames = Set(official.tensors.map(\.name))
        let hfNames = Set(hf.tensors.map(\.name))
        // HF drops the pixel normalisation buffers; everything else must match.
        XCTAssertEqual(officialNames.subtracting(hfNames), officialNames.intersection(["pixel_mean", "pixel_std"]))
        XCTAssertEqual(hfNames.subtracting(officialNames), [])
        for info in hf.tensors {
            let reference = try XCTUnwrap(official.info(named: info.name))
            XCTAssertEqual(info.shape, reference.shape, info.name)
            XCTAssertEqual(try hf.readFloat32(named: info.name).map(\.bitPattern),
                           try official.readFloat32(named: info.name).map(\.bitPattern), info.name)
        }
    }

    func testOfficialSafetensorsMatchesOfficialPth() throws {
        let pth = try CheckpointLoader.open(path: try fixture("tiny_a.pth"))
        let safetensors = try CheckpointLoader.open(path: try fixture("tiny_a.safetensors"))
        XCTAssertEqual(Set(pth.tensors.map(\.name)), Set(safetensors.tensors.map(\.name)))
        for info in pth.tensors {
            XCTAssertEqual(safetensors.info(named: info.name)?.shape, info.shape, info.name)
            XCTAssertEqual(try safetensors.readFloat32(named: info.name).map(\.bitPattern),
                           try pth.readFloat32(named: info.name).map(\.bitPattern), info.name)
        }
    }

    /// name_map.json (HF -> official, from transformers' conversion mapping) agrees with ours.
    func testNameMapFixtureAgrees() throws {
        let url = URL(fileURLWithPath: try fixture("hf_tiny_a/name_map.json"))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let map = try XCTUnwrap(object?["name_map"] as? [String: String], "name_map.json has no name_map object")
        XCTAssertFalse(map.isEmpty)
        for (hf, official) in map {
            XCTAssertEqual(SAMNameMapping.officialName(forHuggingFace: hf), official, hf)
        }
    }
}
