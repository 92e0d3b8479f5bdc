import Foundation

/// A copy of the tiny Stable Diffusion 1.5 fixture (`Tests/Fixtures/pipeline/sd`) whose UNet `conv_out.weight` is all
/// NaN, as a damaged or badly converted checkpoint has: it loads, runs, and makes NaN latents. Shared by the
/// command-line tests of `kinora image` and `kinora render`.
public enum NaNWeightsFixture {
    /// Why the copy could not be made.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Copies the fixture to `destination` (which must not exist) and fills the tensor with NaN.
    public static func make(at destination: URL) throws {
        try FileManager.default.copyItem(at: repository.appending(path: "Tests/Fixtures/pipeline/sd"), to: destination)
        let weights = destination.appending(path: "unet/diffusion_pytorch_model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: weights))
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<8 + headerLength])) as? [String: Any],
              let entry = header["conv_out.weight"] as? [String: Any], entry["dtype"] as? String == "F32",
              let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
            throw Failure(description: "\(weights.path) has no f32 conv_out.weight")
        }
        let start = 8 + headerLength
        for offset in stride(from: start + offsets[0], to: start + offsets[1], by: 4) {
            bytes.replaceSubrange(offset..<offset + 4, with: [0x00, 0x00, 0xC0, 0x7F])
        }
        try Data(bytes).write(to: weights)
    }
}
