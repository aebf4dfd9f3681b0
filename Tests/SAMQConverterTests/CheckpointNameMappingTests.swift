import Foundation
import XCTest
@testable import SAMQConverter

/// Hugging Face SamModel names onto official segment_anything names.
final class CheckpointNameMappingTests: XCTestCase {
    struct NameSets: Decodable {
        /// [name, shape] pairs, decoded loosely.
        let hf: [[NameOrShape]]
        let official: [[NameOrShape]]
    }

    enum NameOrShape: Decodable, Equatable {
        case name(String)
        case shape([Int])
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self = .name(text) } else { self = .shape(try container.decode([Int].self)) }
        }
    }

    private func table(_ rows: [[NameOrShape]]) -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for row in rows { if case let .name(name) = row[0], case let .shape(shape) = row[1] { result[name] = shape } }
        return result
    }

    /// Names and shapes taken from real tiny transformers and segment_anything
    /// models of one config: the mapping must be a shape-preserving bijection
    /// (the official model's pixel_mean/pixel_std buffers have no HF counterpart).
    func testMappingIsAShapePreservingBijectionOntoOfficialNames() throws {
        let sets = try CheckpointFixtures.decode(NameSets.self, from: CheckpointFixtures.valid.appendingPathComponent("sam_names.json"))
        let hf = table(sets.hf)
        var official = table(sets.official)
        official["pixel_mean"] = nil
        official["pixel_std"] = nil
        XCTAssertGreaterThan(hf.count, 150)
        var mapped: [String: [Int]] = [:]
        for (name, shape) in hf {
            let target = try XCTUnwrap(SAMNameMapping.officialName(forHuggingFace: name), "no mapping for \(name)")
            XCTAssertNil(mapped[target], "\(name) maps onto \(target) twice")
            mapped[target] = shape
        }
        XCTAssertEqual(Set(mapped.keys).symmetricDifference(official.keys), [])
        for (name, shape) in official { XCTAssertEqual(mapped[name], shape, name) }
    }

    func testHuggingFaceSafetensorsOpensWithOfficialNames() throws {
        let (source, values) = try CheckpointFixtures.openAndReadAll(CheckpointFixtures.path(CheckpointFixtures.valid, "hf_names.safetensors"))
        let names = source.tensors.map(\.name)
        XCTAssertTrue(names.contains("image_encoder.blocks.0.attn.qkv.weight"))
        XCTAssertTrue(names.contains("mask_decoder.output_upscaling.0.weight"))
        XCTAssertTrue(names.contains("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"))
        XCTAssertFalse(names.contains { $0.hasPrefix("vision_encoder.") })
        XCTAssertEqual(Set(names).count, names.count)
        // The tied copy (stored as -1) is dropped in favour of shared_image_embedding.
        XCTAssertNotEqual(values["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"], [-1])
    }

    func testOfficialNamesPassThrough() throws {
        let names = ["image_encoder.blocks.0.norm1.weight", "pixel_mean"]
        XCTAssertEqual(try SAMNameMapping.map(names, path: "x"), names)
    }

    func testSpecificNames() {
        let cases = [
            ("vision_encoder.layers.11.layer_norm2.bias", "image_encoder.blocks.11.norm2.bias"),
            ("vision_encoder.neck.layer_norm2.weight", "image_encoder.neck.3.weight"),
            ("vision_encoder.patch_embed.projection.weight", "image_encoder.patch_embed.proj.weight"),
            ("mask_decoder.upscale_conv2.weight", "mask_decoder.output_upscaling.3.weight"),
            ("mask_decoder.output_hypernetworks_mlps.3.proj_out.bias", "mask_decoder.output_hypernetworks_mlps.3.layers.2.bias"),
            ("mask_decoder.iou_prediction_head.layers.0.weight", "mask_decoder.iou_prediction_head.layers.1.weight"),
            ("mask_decoder.transformer.layer_norm_final_attn.weight", "mask_decoder.transformer.norm_final_attn.weight"),
            ("prompt_encoder.mask_embed.conv3.weight", "prompt_encoder.mask_downscaling.6.weight"),
            ("prompt_encoder.point_embed.2.weight", "prompt_encoder.point_embeddings.2.weight"),
            ("shared_image_embedding.positional_embedding", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"),
        ]
        for (hf, official) in cases { XCTAssertEqual(SAMNameMapping.officialName(forHuggingFace: hf), official, hf) }
        XCTAssertNil(SAMNameMapping.officialName(forHuggingFace: "vision_encoder.layers.x.attn.qkv.weight"))
        XCTAssertNil(SAMNameMapping.officialName(forHuggingFace: "vision_encoder.layers.1"))
    }

    func testUnmappedNamesAreListed() {
        XCTAssertThrowsError(try SAMNameMapping.map(["vision_encoder.pos_embed", "foo.bar", "vision_encoder.x"], path: "m.safetensors")) { error in
            XCTAssertEqual(error as? CheckpointError, .unmappedNames(path: "m.safetensors", names: ["foo.bar", "vision_encoder.x"]))
        }
    }
}
