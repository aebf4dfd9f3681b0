import Foundation
import SAMQFormat
import SAMQImage
import SAMQRuntime

/// Shared steps of the compute commands: open the model, decode the image.
enum ModelLoading {
    static func predictor(path: String) throws -> SamPredictor {
        try SamPredictor(weights: try SAMQFileWeights(path: path))
    }

    static func image(path: String, maxPixels: Int) throws -> RGBImage {
        try RGBImage(contentsOf: path, maxPixels: maxPixels)
    }

    /// Milliseconds since `start`.
    static func milliseconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
    }
}
