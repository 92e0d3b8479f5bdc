/// Reading a catalog entry from its YAML.
extension ModelFamily {
    /// Reads a whole `models/<family>.yaml` document; the issues go into the document.
    init?(reading field: YAMLField) {
        guard let mapping = field.mapping(Self.keys) else { return nil }
        let name = mapping.required("family")?.string()
        let description = mapping.required("description")?.string()
        let output = mapping.required("produces")?.choice(Output.allCases.map(\.rawValue))
        let testOnly = mapping["test_only"].map { $0.boolean() } ?? false
        var latentScale: Int?? = .some(8), latentChannels: Int?? = .some(4)
        if let latent = mapping["latent"]?.mapping(["scale", "channels"]) {
            latentScale = latent.required("scale").map { $0.integer(in: 1...64) }
            latentChannels = latent.required("channels").map { $0.integer(in: 1...64) }
        }
        let names = mapping.required("names")?.sequence()?.map { $0.string() }
        let defaults = mapping["defaults"].map { Self.readDefaults($0) } ?? Defaults()
        let layouts = mapping.required("layouts").flatMap(Self.readLayouts)
        let components = mapping.required("components").flatMap(Self.readComponents)
        let measured = mapping["measured"].map { field in
            field.sequence()?.map(Self.readMeasured)
        } ?? []
        guard let name, let description, let output = output.flatMap(Output.init(rawValue:)),
              let testOnly, let latentScale = latentScale ?? nil, let latentChannels = latentChannels ?? nil,
              let names, !names.contains(nil), let defaults, let layouts, let components,
              let measured, !measured.contains(nil) else { return nil }
        self.init(name: name, description: description, output: output, testOnly: testOnly,
                  latentScale: latentScale, latentChannels: latentChannels, names: names.compactMap { $0 },
                  defaults: defaults, layouts: layouts, components: components, measured: measured.compactMap { $0 },
                  location: field.location)
    }

    private static func readDefaults(_ field: YAMLField) -> Defaults? {
        guard let mapping = field.mapping(Defaults.keys) else { return nil }
        let steps = mapping["steps"].map { $0.integer(in: 1...1000) }
        let draftSteps = mapping["draft_steps"].map { $0.integer(in: 1...1000) }
        let sampler = mapping["sampler"].map { $0.choice(GenerationSettings.samplers) }
        let size = mapping["size"].map { $0.size() }
        let cfg = mapping["cfg"].map { $0.number(in: 0...30) }
        let sampleRate = mapping["sample_rate"].map { $0.integer(in: 8_000...192_000) }
        guard steps != .some(nil), draftSteps != .some(nil), sampler != .some(nil), size != .some(nil),
              cfg != .some(nil), sampleRate != .some(nil) else { return nil }
        return Defaults(steps: steps ?? nil, draftSteps: draftSteps ?? nil, sampler: sampler ?? nil,
                        size: size ?? nil, cfg: cfg ?? nil, sampleRate: sampleRate ?? nil)
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

    private static let componentKeys = ["role", "folder", "weight_bytes", "streamed_weight_bytes",
                                        "activation_per_token", "activation_per_latent_pixel", "activation_per_pixel",
                                        "activation_per_audio_second", "flops_per_token",
                                        "flops_per_latent_pixel_step", "flops_per_pixel", "flops_per_audio_second",
                                        "tile_latent_sizes"]

    private static func readComponents(_ field: YAMLField) -> [Component]? {
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
            let role = entries.required("role")?.choice(ComponentRole.allCases.map(\.rawValue))
            let folder = entries["folder"].map { $0.string() }
            let weights = entries.required("weight_bytes").flatMap { CatalogFigure(reading: $0, bytes: true) }
            var streamed = entries["streamed_weight_bytes"].map { CatalogFigure(reading: $0, bytes: true) }
            if let field = entries["streamed_weight_bytes"], role != ComponentRole.denoiser.rawValue {
                // Only the UNet's runner streams its weights; a plan streaming another model could not run.
                field.fail("only a denoiser's weights can stream block by block")
                streamed = .some(nil)
            }
            var activation: [String: CatalogFigure] = [:], flops: [String: CatalogFigure] = [:]
            for (key, value) in entries.entries where key.hasPrefix("activation_") || key.hasPrefix("flops_") {
                guard let figure = CatalogFigure(reading: value, bytes: key.hasPrefix("activation_")) else {
                    valid = false
                    continue
                }
                if key.hasPrefix("activation_") {
                    activation[String(key.dropFirst("activation_".count))] = figure
                } else {
                    flops[String(key.dropFirst("flops_".count))] = figure
                }
            }
            let tiles = entries["tile_latent_sizes"]?.sequence()?.map { $0.integer(in: 1...1024) } ?? []
            guard let role = role.flatMap(ComponentRole.init(rawValue:)), folder != .some(nil), let weights,
                  streamed != .some(nil), !tiles.contains(nil) else {
                valid = false
                continue
            }
            components.append(Component(name: name, role: role, folder: folder ?? nil, weightBytes: weights,
                                        streamedWeightBytes: streamed ?? nil, activation: activation, flops: flops,
                                        tileLatentSizes: tiles.compactMap { $0 }.sorted(by: >)))
        }
        return valid ? components : nil
    }

    private static func readMeasured(_ field: YAMLField) -> MeasuredPeak? {
        guard let mapping = field.mapping(["size", "peak", "accounting"]) else { return nil }
        let size = mapping.required("size")?.size()
        let peak = mapping.required("peak").flatMap { CatalogFigure(reading: $0, bytes: true) }
        let accounting = mapping.required("accounting")?.string()
        guard let size, let peak, let accounting else { return nil }
        return MeasuredPeak(size: size, peak: peak, accounting: accounting)
    }
}
