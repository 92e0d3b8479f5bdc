import Foundation

/// Why an upscaler could not be loaded or run. Each case names the file and, where one is involved, the layer.
public enum UpscaleError: Error, Equatable, CustomStringConvertible {
    /// The ncnn graph is not one of the networks Kinora runs (SRVGGNetCompact, RRDBNet), or a layer of it has
    /// parameters those networks never use.
    case unsupportedGraph(file: String, layer: String, reason: String)
    /// An input image the upscaler cannot take.
    case invalidImage(reason: String)
    /// Not even the smallest tile fits the memory left on the device.
    case doesNotFit(tile: Int, neededBytes: UInt64, availableBytes: UInt64)
    /// A model name that is not in the catalog and not a path to an ncnn `.param` file.
    case unknownModel(name: String, known: [String], folder: String)

    public var description: String {
        switch self {
        case .unsupportedGraph(let file, let layer, let reason):
            return "\(file): layer '\(layer)': \(reason)"
        case .invalidImage(let reason):
            return "cannot upscale this image: \(reason)"
        case .doesNotFit(let tile, let needed, let available):
            return "even a \(tile)×\(tile) tile needs \(needed >> 20) MiB of device memory and only "
                + "\(available >> 20) MiB are free; free memory or lower other stages' use"
        case .unknownModel(let name, let known, let folder):
            return "unknown upscaler '\(name)': expected one of \(known.joined(separator: ", ")) (looked in \(folder)) "
                + "or a path to an ncnn .param file"
        }
    }
}
