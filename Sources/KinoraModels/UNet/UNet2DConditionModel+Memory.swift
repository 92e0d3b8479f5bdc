import KinoraTensor

extension UNet2DConditionModel {
    /// Bytes of the model's weights in their file dtypes (every tensor under its weight scope).
    public var weightBytes: Int {
        let store = weights.store
        let prefix = weights.prefix.isEmpty ? "" : weights.prefix + "."
        return store.tensorNames.filter { $0.hasPrefix(prefix) }.reduce(0) { total, name in
            total + ((try? store.info(name).byteCount) ?? 0)
        }
    }

    /// An estimate of the peak activation memory of one forward pass over latents of `height` × `width` for a
    /// batch of `batch` (activations of `activationDType`, flash attention so no score matrix), for the memory
    /// planner: the skip states held for the up path, plus the largest working set of one level — 20 feature maps'
    /// worth of channels where a transformer runs (its GEGLU feed-forward widens the tokens 8×), the concatenated
    /// inputs and outputs of an up-path resnet, or an upsampled map and its convolution — doubled, because the
    /// activation arena serves a request from any free slot up to twice its size and keeps its slots for the whole
    /// run; plus the Winograd workspace where the model runs it (`winogradWorkspaceBytes`).
    public func activationBytes(batch: Int, height: Int, width: Int) -> Int {
        let config = configuration
        let channels = config.blockOutChannels
        let padding = config.downsamplePadding
        var areas = [height * width]
        var (h, w) = (height, width)
        for _ in 1..<channels.count {
            (h, w) = ((h + 2 * padding - 3) / 2 + 1, (w + 2 * padding - 3) / 2 + 1)
            areas.append(h * w)
        }
        var skips = channels[0] * areas[0]
        var working = 0
        for level in channels.indices {
            let (c, area) = (channels[level], areas[level])
            skips += layersPerBlock[level] * c * area + (level + 1 < channels.count ? c * areas[level + 1] : 0)
            let upInput = channels[min(level + 1, channels.count - 1)] + c
            let attends = downBlocks[level].crossAttention != nil
                || upBlocks[channels.count - 1 - level].crossAttention != nil
                || (level == channels.count - 1 && midBlock != nil)
            var need = max(3 * (upInput + c) * area, attends ? 20 * c * area : 0)
            if level > 0 { need = max(need, 2 * c * areas[level - 1]) }
            working = max(working, need)
        }
        return 2 * activationDType.size * batch * (skips + working) + batch * winogradWorkspaceBytes(height, width)
    }

    /// An upper bound on the arena bytes the Winograd workspace of one batch item adds where `convolutionStrategy`
    /// runs it on this device (none elsewhere): a slot for each distinct size of transformed weights (the arena
    /// keeps its slots, and few of these sizes can share one), plus the largest transformed input and products of
    /// one piece. A batch of B holds at most B times as much (its weights are shared, its tiles B times as many).
    func winogradWorkspaceBytes(_ height: Int, _ width: Int) -> Int {
        let config = configuration
        let channels = config.blockOutChannels
        let padding = config.downsamplePadding
        var sizes = [(height, width)]
        for _ in 1..<channels.count {
            let (h, w) = sizes[sizes.count - 1]
            sizes.append(((h + 2 * padding - 3) / 2 + 1, (w + 2 * padding - 3) / 2 + 1))
        }
        // Every convolution the forward pass records, as (in, out, level, kernel); up-path inputs include each
        // concatenation of the hidden state and a skip state an up block can make.
        var convolutions = [(config.inChannels, channels[0], 0, config.convInKernel),
                            (channels[0], config.outChannels, 0, config.convOutKernel)]
        for level in channels.indices {
            let c = channels[level]
            let below = level == 0 ? channels[0] : channels[level - 1]
            let deeper = channels[min(level + 1, channels.count - 1)]
            for input in [below, c, deeper + c, 2 * c, c + below] { convolutions.append((input, c, level, 3)) }
            if level > 0 { convolutions.append((c, c, level - 1, 3)) }
        }
        var weightSlots: Set<UInt64> = []
        var (input, products) = (UInt64(0), UInt64(0))
        for (inChannels, outChannels, level, kernel) in convolutions {
            guard let workspace = WinogradWorkspace(
                convolutionStrategy, device: weights.device, batch: 1, inChannels: inChannels,
                outChannels: outChannels, height: sizes[level].0, width: sizes[level].1, kernel: kernel,
                padding: (kernel - 1) / 2)
            else { continue }
            weightSlots.insert(ActivationArena.slotSize(for: UInt64(workspace.weightBytes)))
            for piece in workspace.pieces {
                input = max(input, ActivationArena.slotSize(for: UInt64(piece.inputBytes)))
                products = max(products, ActivationArena.slotSize(for: UInt64(piece.productBytes)))
            }
        }
        return Int(weightSlots.reduce(0, +) + input + products)
    }
}
