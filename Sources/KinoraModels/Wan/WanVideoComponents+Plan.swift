import Foundation
import KinoraFormats

extension WanVideoComponents {
    /// The parts as the memory planner (`WanMemoryPlanner`) takes them: each part's configuration (its folder's
    /// `config.json`, the `--config` folder's, or read off a single file's shapes) and its weights under the names the
    /// models read. Nothing is read onto a device.
    public func stageComponents(name: String) throws -> WanStageComponents {
        let (textConfiguration, textStore): (UMT5Config, any WeightStore)
        switch textEncoder {
        case .folder(let url):
            textConfiguration = try UMT5Config.load(from: url.appending(path: "config.json"))
            textStore = try UMT5KeyMap.transformersNames(WeightFolder.open(url))
        case .file(let url):
            textStore = try UMT5KeyMap.transformersNames(WeightFile.open(url))
            textConfiguration = try configuration("text_encoder").map(UMT5Config.load(from:))
                ?? UMT5Config.inferred(from: textStore)
        }
        let (transformerConfiguration, transformerStore): (WanTransformer3DConfig, any WeightStore)
        switch transformer {
        case .folder(let url):
            transformerConfiguration = try WanTransformer3DConfig.load(from: url.appending(path: "config.json"))
            transformerStore = try WanTransformerKeyMap.diffusersNames(WeightFolder.open(url))
        case .file(let url):
            transformerStore = try WanTransformerKeyMap.diffusersNames(WeightFile.open(url))
            transformerConfiguration = try configuration("transformer").map(WanTransformer3DConfig.load(from:))
                ?? WanTransformer3DConfig.inferred(from: transformerStore)
        }
        let (vaeConfiguration, vaeStore): (AutoencoderKLWanConfig, any WeightStore)
        switch vae {
        case .folder(let url):
            vaeConfiguration = try AutoencoderKLWanConfig.load(from: url.appending(path: "config.json"))
            vaeStore = try WanVAEKeyMap.diffusersNames(WeightFolder.open(url))
        case .file(let url):
            vaeStore = try WanVAEKeyMap.diffusersNames(WeightFile.open(url))
            vaeConfiguration = try configuration("vae").map(AutoencoderKLWanConfig.load(from:))
                ?? AutoencoderKLWanConfig.inferred(from: vaeStore)
        }
        return WanStageComponents(
            name: name, textEncoder: textConfiguration, textEncoderStore: textStore,
            transformer: transformerConfiguration, transformerStore: transformerStore, vae: vaeConfiguration,
            vaeStore: vaeStore, imageToVideo: expandTimesteps ?? Self.isTI2V5B(transformerConfiguration))
    }
}
