import Foundation
import KinoraFormats
import KinoraGPU

extension MusicGenMemoryPlanner {
    /// The plan of a MusicGen folder's generation of `seconds` over its own weight files, shapes only (nothing is
    /// read or uploaded): the render chain's budget for a generated cue, decided before any work. The prompt is
    /// taken at T5's longest (`MusicGenPipeline.promptTokens`), so any prompt fits the plan. `precision` is the
    /// pipeline's (nil: each model its weights' type, read from the files' headers).
    public static func plan(
        folder: URL, seconds: Double, guidance: Bool, device: GPUDevice, precision: ActivationPrecision? = nil
    ) throws -> MusicGenMemoryPlan {
        let configuration = try MusicGenConfig.load(from: folder.appending(path: "config.json"))
        let store = try WeightFolder.open(folder)
        let root = DeviceWeights.shapesOnly(store: store, device: device)
        let decoder = try MusicGenDecoder(
            configuration: configuration.decoder, textWidth: configuration.textEncoder.dModel,
            weights: root.scoped("decoder"), projection: root.scoped("enc_to_dec_proj"))
        let textEncoder = try UMT5EncoderModel(
            configuration: configuration.textEncoder,
            weights: .shapesOnly(store: UMT5KeyMap.transformersNames(store), device: device),
            maximumLength: MusicGenPipeline.promptTokens)
        let codec = try EncodecDecoder(
            configuration: configuration.audioEncoder,
            weights: .shapesOnly(store: EncodecKeyMap.layerNames(store), device: device))
        let frameRate = configuration.frameRate
        let windows = try MusicGenWindows(
            frames: max(Int(seconds * frameRate), configuration.decoder.codebooksPerChannel - 1),
            windowFrames: Int(MusicGenPipeline.defaultWindowSeconds * frameRate),
            strideFrames: Int(MusicGenPipeline.defaultExtendStrideSeconds * frameRate))
        return try plan(
            textEncoder: textEncoder, decoder: decoder, promptTokens: MusicGenPipeline.promptTokens,
            windowFrames: windows.windows.map(\.frames).max() ?? 0,
            promptFrames: windows.windows.map(\.promptFrames).max() ?? 0, guidance: guidance, device: device,
            codec: codec, cueFrames: windows.frames, precision: precision)
    }
}
