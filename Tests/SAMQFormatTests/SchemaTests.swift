import XCTest
import SAMQFormat

final class SchemaTests: XCTestCase {
    func testOfficialVitBSchemaHasTheOfficialTensorCountAndShapes() throws {
        let schema = SAMSchema(config: try XCTUnwrap(ModelConfig.official("vit_b")))
        XCTAssertEqual(schema.tensors.count, 314, "len(sam_model_registry['vit_b']().state_dict())")
        let shapes = Dictionary(uniqueKeysWithValues: schema.tensors.map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["image_encoder.pos_embed"], [1, 64, 64, 768])
        XCTAssertEqual(shapes["image_encoder.blocks.0.attn.rel_pos_h"], [27, 64])
        XCTAssertEqual(shapes["image_encoder.blocks.2.attn.rel_pos_w"], [127, 64])
        XCTAssertEqual(shapes["mask_decoder.output_upscaling.0.weight"], [256, 64, 2, 2])
        XCTAssertEqual(shapes["mask_decoder.transformer.layers.1.cross_attn_image_to_token.out_proj.weight"], [256, 128])
        XCTAssertEqual(shapes["prompt_encoder.mask_downscaling.0.weight"], [4, 1, 2, 2])
    }

    func testRejectsImpossibleConfigs() {
        var config = tinyConfig()
        config.imageEncoder.numHeads = 3
        XCTAssertThrowsError(try SAMSchema.validate(config))
        config = tinyConfig()
        config.imageEncoder.imgSize = 30
        XCTAssertThrowsError(try SAMSchema.validate(config))
        config = tinyConfig()
        config.pixelStd = [0, 1, 1]
        XCTAssertThrowsError(try SAMSchema.validate(config))
        XCTAssertNoThrow(try SAMSchema.validate(tinyConfig()))
    }
}
