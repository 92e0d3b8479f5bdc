import Foundation
import PackagePlugin

/// Compiles every `shaders/*.comp` with glslc (once per variant) and embeds the SPIR-V in one Swift file.
///
/// A shader declares its variants in its first lines as `// variant: NAME -DDEFINE=VALUE ...`; a shader without
/// such lines compiles once under its file stem. A header line `// activations: f16 bf16` adds, for each of those
/// variants, one per 16-bit activation type, named `<variant>@f16` and `@bf16` and compiled with `-DA_F16` or
/// `-DA_BF16` (the activation storage macros of `common.glsl`). Every `shaders/*.glsl` include is an input of every compile,
/// so editing an include rebuilds the shaders that may use it.
///
/// A shader whose header says `// compiler: glslang` needs GLSL extensions newer than Debian 12's glslc
/// (`GL_KHR_cooperative_matrix`); it is compiled with glslang 13 from `/opt/kinora/glslang` (installed by
/// `scripts/setup.sh`) for Vulkan 1.3, and left out with a warning when that compiler is absent.
@main
struct CompileShaders: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let shaderDirectory = context.package.directoryURL.appending(path: "shaders").resolvingSymlinksInPath()
        let files = try FileManager.default.contentsOfDirectory(at: shaderDirectory, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let includes = files.filter { $0.pathExtension == "glsl" }
        let sources = files.filter { $0.pathExtension == "comp" }
        let glslc = URL(filePath: "/usr/bin/glslc")
        let glslangRoot = URL(filePath: "/opt/kinora/glslang/cmeel.prefix")
        let glslang = glslangRoot.appending(path: "bin/glslangValidator")
        let hasGlslang = FileManager.default.isExecutableFile(atPath: glslang.path)
        let outputDirectory = context.pluginWorkDirectoryURL.appending(path: "spirv")

        var commands: [Command] = []
        var embedArguments: [String] = []
        var spirvFiles: [URL] = []
        for source in sources {
            let stem = source.deletingPathExtension().lastPathComponent
            let header = try String(contentsOf: source, encoding: .utf8).split(separator: "\n").prefix(40)
            let needsGlslang = header.contains { $0.trimmingCharacters(in: .whitespaces) == "// compiler: glslang" }
            if needsGlslang && !hasGlslang {
                Diagnostics.warning("\(source.lastPathComponent) needs glslang 13 (\(glslang.path)); run "
                    + "scripts/setup.sh to build the cooperative-matrix kernels")
                continue
            }
            for variant in try variants(of: source, stem: stem) {
                let output = outputDirectory.appending(path: "\(variant.name).spv")
                if needsGlslang {
                    commands.append(.buildCommand(
                        displayName: "glslang \(variant.name)",
                        executable: glslang,
                        arguments: ["-V", "--target-env", "vulkan1.3", "--quiet", "-I\(shaderDirectory.path)"]
                            + variant.defines + ["-o", output.path, source.path],
                        environment: ["LD_LIBRARY_PATH": glslangRoot.appending(path: "lib").path],
                        inputFiles: [source] + includes,
                        outputFiles: [output]
                    ))
                } else {
                    commands.append(.buildCommand(
                        displayName: "glslc \(variant.name)",
                        executable: glslc,
                        arguments: ["-fshader-stage=compute", "--target-env=vulkan1.2", "-O", "-Werror",
                                    "-I", shaderDirectory.path] + variant.defines + ["-o", output.path, source.path],
                        inputFiles: [source] + includes,
                        outputFiles: [output]
                    ))
                }
                spirvFiles.append(output)
                embedArguments += [variant.name, output.path]
            }
        }
        let swiftFile = context.pluginWorkDirectoryURL.appending(path: "EmbeddedShaders.swift")
        let script = context.package.directoryURL.appending(path: "scripts/embed-spirv.sh")
        commands.append(.buildCommand(
            displayName: "Embedding \(spirvFiles.count) SPIR-V shaders",
            executable: URL(filePath: "/bin/sh"),
            arguments: [script.path, swiftFile.path] + embedArguments,
            inputFiles: spirvFiles + [script],
            outputFiles: [swiftFile]
        ))
        return commands
    }

    private struct Variant {
        var name: String
        var defines: [String]
    }

    private func variants(of source: URL, stem: String) throws -> [Variant] {
        let text = try String(contentsOf: source, encoding: .utf8)
        let declared = text.split(separator: "\n").prefix(40).compactMap { line -> Variant? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("// variant:") else { return nil }
            let words = trimmed.dropFirst("// variant:".count).split(separator: " ").map(String.init)
            guard let name = words.first else { return nil }
            return Variant(name: "\(stem).\(name)", defines: Array(words.dropFirst()))
        }
        let base = declared.isEmpty ? [Variant(name: stem, defines: [])] : declared
        let activationLine = text.split(separator: "\n").prefix(40).first {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("// activations:")
        }
        let activations = activationLine.map {
            $0.trimmingCharacters(in: .whitespaces).dropFirst("// activations:".count).split(separator: " ")
                .map(String.init)
        } ?? []
        return base + activations.flatMap { type in
            base.map { Variant(name: "\($0.name)@\(type)", defines: $0.defines + ["-DA_\(type.uppercased())"]) }
        }
    }
}
