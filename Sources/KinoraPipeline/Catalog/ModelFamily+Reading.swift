import KinoraModels

/// Reading a catalog entry from its YAML.
extension ModelFamily {
    /// Reads a whole `models/<family>.yaml` document; the issues go into the document.
    init?(reading field: YAMLField) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let name = mapping.required("family")?.string()
        let description = mapping.required("description")?.string()
        let output = mapping.required("produces")?.choice(Output.allCases.map(\.rawValue))
        let testOnly = mapping["test_only"].map { $0.boolean() } ?? false
        let video = output == Output.video.rawValue
        let autoregressive = mapping["autoregressive"].map { field -> Bool? in
            guard video else {
                field.fail("autoregressive is for families that produce video")
                return nil
            }
            return field.boolean()
        } ?? false
        let base = mapping["base"].map { field -> String? in
            guard video else {
                field.fail("a base (the diffusers folder a single transformer file's other parts come from) is for "
                           + "families that produce video")
                return nil
            }
            return field.string()
        }
        var latentScale: Int?? = .some(8), latentChannels: Int?? = .some(4), temporalScale: Int?? = .some(1)
        if let latent = mapping["latent"]?.mapping(["scale", "channels", "temporal_scale"]) {
            latentScale = latent.required("scale").map { $0.integer(in: 1...64) }
            latentChannels = latent.required("channels").map { $0.integer(in: 1...64) }
            if video {
                temporalScale = latent.required("temporal_scale").map { $0.integer(in: 1...64) }
            } else if let field = latent["temporal_scale"] {
                field.fail("a latent temporal scale is for families that produce video")
                temporalScale = .some(nil)
            }
        }
        let names = mapping.required("names")?.sequence()?.map { $0.string() }
        let defaults = mapping["defaults"].map { Self.readDefaults($0, video: video) } ?? Defaults()
        if video, let defaults, let frames = defaults.frames, let scale = temporalScale ?? nil,
           (frames - 1) % scale != 0, let field = mapping["defaults"] {
            field.fail("frames \(frames) is not of the form \(scale)k + 1 (latent temporal_scale \(scale))")
        }
        let layouts = mapping.required("layouts").flatMap(Self.readLayouts)
        let components = mapping.required("components").flatMap {
            Self.readComponents($0, output: output.flatMap(Output.init(rawValue:)))
        }
        let measured = mapping["measured"].map { field in
            field.sequence()?.map { Self.readMeasured($0, video: video) }
        } ?? []
        guard let name, let description, let output = output.flatMap(Output.init(rawValue:)),
              let testOnly, let autoregressive, base != .some(nil), let latentScale = latentScale ?? nil,
              let latentChannels = latentChannels ?? nil,
              let temporalScale = temporalScale ?? nil, let names, !names.contains(nil), let defaults, let layouts,
              let components, let measured, !measured.contains(nil) else { return nil }
        self.init(name: name, description: description, output: output, testOnly: testOnly,
                  autoregressive: autoregressive, base: base ?? nil,
                  latentScale: latentScale, latentChannels: latentChannels, latentTemporalScale: temporalScale,
                  names: names.compactMap { $0 }, defaults: defaults, layouts: layouts, components: components,
                  measured: measured.compactMap { $0 }, location: field.location)
    }

    /// The flow-matching samplers of the video families (`FlowSamplerKind`).
    static let videoSamplers = FlowSamplerKind.allCases.map(\.rawValue)

    private static func readDefaults(_ field: YAMLField, video: Bool) -> Defaults? {
        guard let mapping = field.mapping(Defaults.keys) else { return nil }
        let steps = mapping["steps"].map { $0.integer(in: 1...1000) }
        let draftSteps = mapping["draft_steps"].map { $0.integer(in: 1...1000) }
        let sampler = mapping["sampler"].map { $0.choice(video ? videoSamplers : GenerationSettings.samplers) }
        let size = mapping["size"].map { $0.size() }
        let cfg = mapping["cfg"].map { $0.number(in: 0...30) }
        let sampleRate = mapping["sample_rate"].map { $0.integer(in: 8_000...192_000) }
        var frames = mapping["frames"].map { $0.integer(in: 1...10_000) }
        var fps = mapping["fps"].map { $0.number(in: 1...240) }
        let shift = mapping["shift"].map { $0.number(in: 0.01...100) }
        if !video {
            for key in ["frames", "fps"] {
                mapping[key]?.fail("\(key) is a video setting; this family does not produce video")
            }
            frames = frames.map { _ in nil }
            fps = fps.map { _ in nil }
        }
        guard steps != .some(nil), draftSteps != .some(nil), sampler != .some(nil), size != .some(nil),
              cfg != .some(nil), sampleRate != .some(nil), frames != .some(nil), fps != .some(nil),
              shift != .some(nil) else { return nil }
        return Defaults(steps: steps ?? nil, draftSteps: draftSteps ?? nil, sampler: sampler ?? nil,
                        size: size ?? nil, cfg: cfg ?? nil, sampleRate: sampleRate ?? nil, frames: frames ?? nil,
                        fps: fps ?? nil, shift: shift ?? nil)
    }

    private static func readLayouts(_ field: YAMLField) -> [Layout]? {
        guard case .mapping(let mapping) = field.node else {
            field.fail("expected a mapping from layout names to their files")
            return nil
        }
        var layouts: [Layout] = []
        for (key, value) in mapping {
            let name = key.string ?? "?"
            let layoutField = YAMLField(node: value, path: "layouts.\(name)", document: field.document,
                                        fallback: field.location)
            guard let entries = layoutField.mapping(Layout.keys) else { return nil }
            let files = entries["files"]?.sequence()?.compactMap { $0.string() } ?? []
            let fileExtension = entries["extension"]?.string()
            let companions = entries["companions"]?.sequence()?.compactMap { $0.string() } ?? []
            let folder = entries["folder"]?.string()
            var prefixes: [String: String] = [:]
            if let prefixField = entries["key_prefixes"], case .mapping(let prefixMapping) = prefixField.node {
                for (component, prefix) in prefixMapping {
                    if let component = component.string, let prefix = prefix.string { prefixes[component] = prefix }
                }
            }
            let detectKeys = entries["detect_keys"]?.sequence()?.compactMap { $0.string() } ?? []
            if files.isEmpty == (fileExtension == nil) {
                layoutField.fail("a layout lists either 'files' (a folder) or an 'extension' (a single file)")
                return nil
            }
            layouts.append(Layout(name: name, files: files, fileExtension: fileExtension, companions: companions,
                                  folder: folder, keyPrefixes: prefixes, detectKeys: detectKeys))
        }
        return layouts
    }

    private static let componentKeys = ["role", "folder", "files", "weight_bytes", "streamed_weight_bytes",
                                        "activation_per_token", "activation_per_latent_pixel",
                                        "activation_per_latent_voxel", "activation_per_pixel",
                                        "activation_per_audio_second", "flops_per_token",
                                        "flops_per_latent_pixel_step", "flops_per_latent_voxel_step",
                                        "flops_per_pixel", "flops_per_audio_second", "flops_per_audio_second_step",
                                        "tile_latent_sizes"]

    /// Reads the components; `output` (nil when the family's own is invalid) decides which roles may appear.
    private static func readComponents(_ field: YAMLField, output: Output?) -> [Component]? {
        let video = output == .video
        guard case .mapping(let mapping) = field.node else {
            field.fail("expected a mapping from component names to their figures")
            return nil
        }
        var components: [Component] = []
        var valid = true
        for (key, value) in mapping {
            let name = key.string ?? "?"
            let componentField = YAMLField(node: value, path: "components.\(name)", document: field.document,
                                           fallback: field.location)
            guard let entries = componentField.mapping(componentKeys) else {
                valid = false
                continue
            }
            var role = entries.required("role")?.choice(ComponentRole.allCases.map(\.rawValue))
            // An upscaler or interpolator family is that one model; the other roles belong to the chain's families.
            if let output, let name = role, let parsed = ComponentRole(rawValue: name),
               let field = entries["role"] {
                let own: Set<ComponentRole> = [.upscaler, .interpolator]
                if let required = output.ownRole, parsed != required {
                    field.fail("a family that produces \(output.rawValue) has only \(required.rawValue) components")
                    role = nil
                } else if output.ownRole == nil, own.contains(parsed) {
                    let produces = parsed == .upscaler ? Output.upscaledImage : .interpolatedFrames
                    field.fail("an \(name) belongs to a family that produces \(produces.rawValue), not "
                               + output.rawValue)
                    role = nil
                }
            }
            let folder = entries["folder"].map { $0.string() }
            let files = entries["files"].map { $0.sequence()?.map { $0.string() } } ?? []
            let weights = entries.required("weight_bytes").flatMap { CatalogFigure(reading: $0, bytes: true) }
            var streamed = entries["streamed_weight_bytes"].map { CatalogFigure(reading: $0, bytes: true) }
            // A denoiser's weights stream block by block; a video family's text encoder (UMT5) layer by layer.
            let streams = role == ComponentRole.denoiser.rawValue
                || (video && role == ComponentRole.textEncoder.rawValue)
            if let field = entries["streamed_weight_bytes"], !streams {
                field.fail("only a denoiser's weights (and a video family's text encoder's) can stream block by block")
                streamed = .some(nil)
            }
            var activation: [String: CatalogFigure] = [:], flops: [String: CatalogFigure] = [:]
            for (key, value) in entries.entries where key.hasPrefix("activation_") || key.hasPrefix("flops_") {
                let isActivation = key.hasPrefix("activation_")
                guard let figure = CatalogFigure(reading: value, bytes: isActivation, allowsHalf: isActivation) else {
                    valid = false
                    continue
                }
                if isActivation {
                    activation[String(key.dropFirst("activation_".count))] = figure
                } else {
                    flops[String(key.dropFirst("flops_".count))] = figure
                }
            }
            let tiles = entries["tile_latent_sizes"]?.sequence()?.map { $0.integer(in: 1...1024) } ?? []
            guard let role = role.flatMap(ComponentRole.init(rawValue:)), folder != .some(nil), let weights,
                  streamed != .some(nil), !tiles.contains(nil), let files, !files.contains(nil) else {
                valid = false
                continue
            }
            components.append(Component(name: name, role: role, folder: folder ?? nil, weightBytes: weights,
                                        streamedWeightBytes: streamed ?? nil, activation: activation, flops: flops,
                                        tileLatentSizes: tiles.compactMap { $0 }.sorted(by: >),
                                        files: files.compactMap { $0 }))
        }
        return valid ? components : nil
    }

    private static func readMeasured(_ field: YAMLField, video: Bool) -> MeasuredPeak? {
        guard let mapping = field.mapping(["size", "frames", "peak", "accounting"]) else { return nil }
        let size = mapping.required("size")?.size()
        var frames: Int?? = mapping["frames"].map { $0.integer(in: 1...10_000) }
        if video, frames == nil {
            frames = mapping.required("frames").map { $0.integer(in: 1...10_000) } ?? .some(nil)
        } else if !video, let field = mapping["frames"] {
            field.fail("frames is a video setting; this family does not produce video")
            frames = .some(nil)
        }
        let peak = mapping.required("peak").flatMap { CatalogFigure(reading: $0, bytes: true) }
        let accounting = mapping.required("accounting")?.string()
        guard let size, frames != .some(nil), let peak, let accounting else { return nil }
        return MeasuredPeak(size: size, frames: frames ?? nil, peak: peak, accounting: accounting)
    }
}
