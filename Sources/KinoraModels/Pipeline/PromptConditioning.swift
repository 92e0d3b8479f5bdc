/// The text conditioning of one generation on the host, as `StableDiffusionPipeline.encodePrompts` makes it and
/// `denoise` takes it: the prompt's embedding and, with classifier-free guidance, the negative prompt's, both padded
/// to the same number of 77-token windows. A staged workflow stores it between its encode-text and denoise stages;
/// values read back bit for bit give the same latents as an unstaged generation.
///
/// It holds no image size: SDXL's size conditioning (`time_ids`) is derived from the generation settings when the
/// UNet runs, so one encoding serves every size.
public struct PromptConditioning: Sendable, Equatable {
    /// Row-major floats and their shape.
    public struct Values: Sendable, Equatable {
        public var values: [Float]
        public var shape: [Int]

        /// Throws `PipelineError.invalidConditioning` when `shape`'s product is not the number of values.
        public init(_ values: [Float], shape: [Int]) throws {
            guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) == values.count else {
                throw PipelineError.invalidConditioning("shape \(shape) does not hold \(values.count) values")
            }
            self.values = values
            self.shape = shape
        }

        /// Bytes of the values as f32.
        public var byteCount: UInt64 { UInt64(values.count * MemoryLayout<Float>.size) }
    }

    /// One prompt's conditioning.
    public struct Embedding: Sendable, Equatable {
        /// The text encoders' hidden states, [1, 77 · windows, width].
        public var hiddenStates: Values
        /// SDXL's pooled embedding of the first window, [1, projection]; nil for SD 1.x and 2.x.
        public var pooled: Values?

        public init(hiddenStates: Values, pooled: Values? = nil) {
            self.hiddenStates = hiddenStates
            self.pooled = pooled
        }

        var byteCount: UInt64 { hiddenStates.byteCount + (pooled?.byteCount ?? 0) }
    }

    /// The prompt's embedding.
    public var conditional: Embedding
    /// The negative prompt's embedding (zeros for SDXL without one); nil when guidance is off.
    public var unconditional: Embedding?

    public init(conditional: Embedding, unconditional: Embedding? = nil) {
        self.conditional = conditional
        self.unconditional = unconditional
    }

    /// Device bytes the conditioning takes while the UNet runs.
    public var byteCount: UInt64 { conditional.byteCount + (unconditional?.byteCount ?? 0) }

    /// Text tokens per prompt (77 per window).
    public var tokens: Int { conditional.hiddenStates.shape.count == 3 ? conditional.hiddenStates.shape[1] : 0 }
}
