import Foundation
import KinoraFormats

/// stable-audio-tools' names for the DiT and the conditioners of a Stable Audio checkpoint (`model.safetensors` of
/// `stabilityai/stable-audio-open-1.0` and `-small`, ComfyUI's `stable_audio_open_1.0.safetensors`), mapped at load
/// time to the diffusers names `StableAudioDiTModel` and `StableAudioProjectionModel` read — the inverse of nothing:
/// the renaming of diffusers' `scripts/convert_stable_audio.py` (`convert_stable_audio_state_dict_to_diffusers`),
/// plus the query/key norms it predates:
///
/// - `model.model.` (`DiffusionTransformer`): `to_timestep_embed` → `timestep_proj`, `to_global_embed` →
///   `global_proj`, `to_cond_embed` → `cross_attention_proj`, `timestep_features.weight` [n, 1] → `time_proj.weight`
///   [n], `transformer.project_in`/`project_out` → `proj_in`/`proj_out`, and in `transformer.layers.N` →
///   `transformer_blocks.N`: `pre_norm`, `cross_attend_norm`, `ff_norm` (`gamma`, `beta`) → `norm1`…`norm3`
///   (`weight`, `bias`); `self_attn` → `attn1` with its fused `to_qkv` [3D, D] cut into `to_q`, `to_k`, `to_v`;
///   `cross_attn` → `attn2` with `to_kv` [2K, C] cut into `to_k`, `to_v`; `to_out` → `to_out.0`; `q_norm`/`k_norm` →
///   `norm_q`/`norm_k`; `ff.ff` → `ff.net`. The rotary `inv_freq` buffer is left out (the model computes it).
/// - `conditioner.conditioners.`: `seconds_start` and `seconds_total` (`embedder.embedding`) →
///   `start_number_conditioner` and `end_number_conditioner` (`time_positional_embedding`); a T5 conditioner's
///   `prompt.proj_out` → `text_projection`. The T5 itself is not in these files (stable-audio-tools loads it from
///   transformers).
///
/// Every piece is handed out in place from the mapped file (a fused matrix's rows are one contiguous slice). A tensor
/// with no counterpart keeps its name, so the model's shape check reports it.
enum StableAudioDiTKeyMap {
    static let ditPrefix = "model.model."
    static let conditionerPrefix = "conditioner.conditioners."
    /// The DiT's timestep MLP: what marks a stable-audio-tools diffusion checkpoint.
    static let anchor = ditPrefix + "to_timestep_embed.0.weight"
    static let secondsTotal = conditionerPrefix + "seconds_total.embedder.embedding.1.weight"
    static let secondsStart = conditionerPrefix + "seconds_start.embedder.embedding.1.weight"

    /// One diffusers tensor: part `part` of `parts` equal row blocks of the file's `source`, with a trailing axis of 1
    /// dropped when `squeeze`.
    struct Piece: Sendable {
        var source: String
        var part = 0
        var parts = 1
        var squeeze = false
    }

    /// The DiT's tensors (`model.model.`) under diffusers' names.
    static func transformer(_ base: any WeightStore) -> MappedStore {
        var pieces: [String: Piece] = [:]
        for name in base.tensorNames where name.hasPrefix(ditPrefix) {
            for (mapped, piece) in ditNames(String(name.dropFirst(ditPrefix.count)), source: name) {
                pieces[mapped] = piece
            }
        }
        return MappedStore(base: base, pieces: pieces, label: "DiT")
    }

    /// The conditioners' tensors (`conditioner.conditioners.`) under the projection model's names.
    static func projection(_ base: any WeightStore) -> MappedStore {
        var pieces: [String: Piece] = [:]
        for name in base.tensorNames where name.hasPrefix(conditionerPrefix) {
            var mapped = String(name.dropFirst(conditionerPrefix.count))
            for (from, to) in [
                ("seconds_start.embedder.embedding.", "start_number_conditioner.time_positional_embedding."),
                ("seconds_total.embedder.embedding.", "end_number_conditioner.time_positional_embedding."),
                ("prompt.proj_out.", "text_projection."),
            ] where mapped.hasPrefix(from) {
                mapped = to + String(mapped.dropFirst(from.count))
            }
            pieces[mapped] = Piece(source: name)
        }
        return MappedStore(base: base, pieces: pieces, label: "conditioners")
    }

    /// The diffusers names (and pieces) of one DiT tensor's name under `model.model.`; empty for one left out.
    static func ditNames(_ name: String, source: String) -> [(String, Piece)] {
        if name == "transformer.rotary_pos_emb.inv_freq" { return [] }
        if name == "timestep_features.weight" { return [("time_proj.weight", Piece(source: source, squeeze: true))] }
        for (from, to) in [
            ("to_timestep_embed.", "timestep_proj."), ("to_global_embed.", "global_proj."),
            ("to_cond_embed.", "cross_attention_proj."), ("transformer.project_in.", "proj_in."),
            ("transformer.project_out.", "proj_out."),
        ] where name.hasPrefix(from) {
            return [(to + String(name.dropFirst(from.count)), Piece(source: source))]
        }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "transformer", parts[1] == "layers", let layer = Int(parts[2]) else {
            return [(name, Piece(source: source))]
        }
        let block = "transformer_blocks.\(layer)."
        var rest = parts[3]
        for (from, to) in [
            ("pre_norm.", "norm1."), ("cross_attend_norm.", "norm2."), ("ff_norm.", "norm3."),
            ("self_attn.", "attn1."), ("cross_attn.", "attn2."), ("ff.ff.", "ff.net."),
        ] where rest.hasPrefix(from) {
            rest = to + String(rest.dropFirst(from.count))
        }
        for (from, to) in [(".gamma", ".weight"), (".beta", ".bias")]
        where rest.hasPrefix("norm") && rest.hasSuffix(from) {
            rest = String(rest.dropLast(from.count)) + to
        }
        for (from, to) in [(".q_norm.", ".norm_q."), (".k_norm.", ".norm_k.")] {
            rest = rest.replacingOccurrences(of: from, with: to)
        }
        if rest.hasSuffix(".to_out.weight") { rest = String(rest.dropLast(".weight".count)) + ".0.weight" }
        for (fused, names) in [(".to_qkv.weight", ["to_q", "to_k", "to_v"]), (".to_kv.weight", ["to_k", "to_v"])]
        where rest.hasSuffix(fused) {
            let attention = String(rest.dropLast(fused.count))
            return names.enumerated().map { index, projection in
                (
                    block + attention + "." + projection + ".weight",
                    Piece(source: source, part: index, parts: names.count)
                )
            }
        }
        return [(block + rest, Piece(source: source))]
    }

    /// A view of `base` holding `pieces` under their mapped names.
    struct MappedStore: WeightStore {
        let base: any WeightStore
        let pieces: [String: Piece]
        let label: String
        let tensorNames: [String]

        init(base: any WeightStore, pieces: [String: Piece], label: String) {
            self.base = base
            self.pieces = pieces
            self.label = label
            tensorNames = pieces.keys.sorted()
        }

        var sourceName: String { "\(base.sourceName) [\(label)]" }

        private func piece(_ name: String) throws -> Piece {
            guard let piece = pieces[name] else { throw WeightsError.missingTensor(file: sourceName, tensor: name) }
            return piece
        }

        func info(_ name: String) throws -> WeightTensorInfo {
            let piece = try piece(name)
            let source = try base.info(piece.source)
            var shape = source.shape
            var range = source.dataRange
            if piece.squeeze, shape.count == 2, shape[1] == 1 { shape = [shape[0]] }
            if piece.parts > 1 {
                guard let rows = shape.first, rows % piece.parts == 0 else {
                    throw WeightsError.unrecognizedCheckpoint(
                        file: base.sourceName,
                        reason: "'\(piece.source)' of shape \(shape) does not split into \(piece.parts) equal parts")
                }
                shape[0] = rows / piece.parts
                let size = range.count / piece.parts
                range = (range.lowerBound + piece.part * size)..<(range.lowerBound + (piece.part + 1) * size)
            }
            return WeightTensorInfo(
                name: name, dtype: source.dtype, shape: shape, dataRange: range, scale: source.scale)
        }

        func withBytes<Result>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
            let piece = try piece(name)
            guard piece.parts > 1 else { return try base.withBytes(of: piece.source, body) }
            return try base.withBytes(of: piece.source) { bytes in
                let size = bytes.count / piece.parts
                return try body(
                    UnsafeRawBufferPointer(rebasing: bytes[(piece.part * size)..<((piece.part + 1) * size)]))
            }
        }
    }
}
