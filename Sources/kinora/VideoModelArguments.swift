import ArgumentParser
import Foundation
import KinoraModels
import KinoraPipeline

/// Where `kinora video` finds a Wan model's parts: `--model` is a diffusers folder, a transformer file, or a catalog
/// family (`wan21-t2v-1.3b`, `tiny-wan21`) found as `kinora render` finds it; the other parts are files or folders.
/// A relative path that is not in the current folder is looked up in the models folders (`--models-dir`, then
/// `KINORA_MODELS`, then the project's `models/`) and their ComfyUI subfolders (`diffusion_models/`, `vae/`,
/// `text_encoders/`), as ComfyUI keeps them.
struct VideoModelArguments: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A Wan diffusers folder, a transformer file (ComfyUI's wan2.1_t2v_1.3B_fp16.safetensors, ...), or a "
            + "catalog name (wan21-t2v-1.3b, wan22-ti2v-5b, tiny-wan21, tiny-wan22).",
        discussion: "A single transformer file needs --vae, --text-encoder and --tokenizer, except a catalog "
            + "family's (wan21-causal-1.3b's self_forcing_dmd.pt), which takes them from its base diffusers folder "
            + "(Wan2.1-T2V-1.3B-Diffusers/); with a folder they replace the folder's own parts."))
    var model: String

    @Option(name: .long, help: "The VAE: a file (wan_2.1_vae.safetensors, wan2.2_vae.safetensors) or a folder.")
    var vae: String?

    @Option(name: .customLong("text-encoder"), help: ArgumentHelp(
        "UMT5-XXL: a file (umt5_xxl_fp16.safetensors, umt5_xxl_fp8_e4m3fn_scaled.safetensors) or a folder."))
    var textEncoder: String?

    @Option(name: .long, help: ArgumentHelp(
        "The UMT5 tokenizer: a folder, tokenizer.json or spiece.model (a Wan diffusers download's tokenizer/).",
        discussion: "ComfyUI's text-encoder files carry none."))
    var tokenizer: String?

    @Option(name: .long, help: ArgumentHelp(
        "Single files: a Wan diffusers folder whose config.json files replace the inferred ones.",
        discussion: "As diffusers' from_single_file(config=...): transformer/, vae/, text_encoder/ config.json, "
            + "scheduler/scheduler_config.json, model_index.json's expand_timesteps and tokenizer/ are used where "
            + "present."))
    var config: String?

    @Option(name: .long, help: ArgumentHelp(
        "A LoRA file to merge into the transformer, with an optional strength (default 1); repeat for several.",
        discussion: "ComfyUI (diffusion_model.), musubi-tuner/kohya (lora_unet_) and diffusers/PEFT (transformer.) "
            + "layouts, safetensors or PyTorch files, e.g. --lora lightx2v_distill.safetensors:1.0. A key that fits "
            + "no weight of the transformer is an error.",
        valueName: "file[:strength]"))
    var lora: [LoRAArgument] = []

    @Option(name: .customLong("models-dir"),
            help: "A models folder to search (ComfyUI layout works); repeatable. Also $KINORA_MODELS.")
    var modelsDirs: [String] = []

    /// The parts, found and checked (nothing read onto a device yet).
    func components() throws -> WanVideoComponents {
        let paths = ModelSearchPaths.standard(
            modelsDirs: modelsDirs, environment: ProcessInfo.processInfo.environment,
            bundled: BundledCatalog.locate())
        let (modelURL, catalogBase) = try locateModel(paths)
        var components: WanVideoComponents
        switch (try WanVideoComponents.source(modelURL), catalogBase) {
        case (.file(let file), let base?):
            // A catalog family's single file (wan21-causal-1.3b's self_forcing_dmd.pt): its base folder's parts.
            components = try WanVideoComponents(transformerFile: file, base: base)
        case (.folder(let folder), _):
            if config != nil {
                throw ValidationError("--config applies to single transformer files; \(model) is a folder")
            }
            components = try WanVideoComponents(folder: folder)
            if let vae { components.vae = try WanVideoComponents.source(locate(vae, "--vae", ["vae"], paths)) }
            if let textEncoder {
                components.textEncoder = try WanVideoComponents.source(
                    locate(textEncoder, "--text-encoder", ["text_encoders"], paths))
            }
            if let tokenizer { components.tokenizer = try locate(tokenizer, "--tokenizer", ["text_encoders"], paths) }
        case (.file(let file), nil):
            let configuration = config.map { URL(fileURLWithPath: $0) }
            let configTokenizer = configuration.map { $0.appending(path: "tokenizer") }.flatMap {
                FileManager.default.fileExists(atPath: $0.path) ? $0 : nil
            }
            let missing = [("--vae", vae), ("--text-encoder", textEncoder)].filter { $0.1 == nil }.map(\.0)
                + (tokenizer == nil && configTokenizer == nil ? ["--tokenizer"] : [])
            guard missing.isEmpty, let vae, let textEncoder else {
                throw ValidationError(
                    "--model \(model) is a single transformer file; give the other parts with "
                        + missing.joined(separator: ", ") + " (ComfyUI's files carry no tokenizer: use the "
                        + "tokenizer/ folder of a Wan diffusers download)")
            }
            components = try WanVideoComponents(
                transformer: .file(file),
                vae: WanVideoComponents.source(locate(vae, "--vae", ["vae"], paths)),
                textEncoder: WanVideoComponents.source(locate(textEncoder, "--text-encoder", ["text_encoders"], paths)),
                tokenizer: try tokenizer.map { try locate($0, "--tokenizer", ["text_encoders"], paths) }
                    ?? configTokenizer!,
                configuration: configuration)
        }
        components.loras = try lora.map { argument in
            var adapter = argument.adapter
            adapter.url = try locate(adapter.url.relativePath, "--lora", ["loras"], paths)
            return adapter
        }
        return components
    }

    /// `--model`: a path, else a catalog family's weights, else a name under the models folders; with the diffusers
    /// folder that serves a catalog family's single transformer file (its base) when there is one.
    private func locateModel(_ paths: ModelSearchPaths) throws -> (url: URL, base: URL?) {
        if FileManager.default.fileExists(atPath: model) { return (URL(fileURLWithPath: model), nil) }
        if let folder = BundledCatalog.locate(), let catalog = try? ModelCatalog.load(directory: folder),
            let family = catalog.family(named: model)
        {
            guard family.output == .video else {
                let video = catalog.families.filter { $0.output == .video }.map(\.name)
                throw ValidationError("--model \(model) is a catalog family of \(family.output.noun); kinora video "
                    + "runs the video families" + (video.isEmpty ? "" : " (\(video.joined(separator: ", ")))"))
            }
            let reference = ModelReference(
                name: model, source: .catalog(model), family: model,
                location: SourceLocation(file: "--model", line: 1, column: 1))
            let locator = ModelLocator(catalog: catalog, searchPaths: paths, base: nil)
            let located = try locator.locate(reference)
            // Single files given their parts by option keep to them; the base is looked up only when none is given.
            let needsBase = located.layout.fileExtension != nil && vae == nil && textEncoder == nil
                && tokenizer == nil && config == nil
            return (located.url, needsBase ? try locator.baseFolder(of: located, for: reference) : nil)
        }
        return (try locate(model, "--model", ["diffusion_models", "checkpoints"], paths), nil)
    }

    /// `path` as given when it exists, else the first candidate under the models folders.
    private func locate(_ path: String, _ option: String, _ preferred: [String], _ paths: ModelSearchPaths) throws
        -> URL
    {
        if FileManager.default.fileExists(atPath: path) { return URL(fileURLWithPath: path) }
        let candidates = paths.candidates(for: path, base: nil, preferred: preferred)
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found }
        let searched = candidates.isEmpty ? "" : "; looked in " + candidates.map(\.path).joined(separator: ", ")
        throw ValidationError("\(option) \(path) does not exist\(searched)")
    }
}
