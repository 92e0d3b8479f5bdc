import Foundation

/// What a single-file checkpoint does not carry, supplied by the user: the tokenizer, optionally configurations
/// that replace the inferred ones (diffusers' `from_single_file(config=)`), and the prediction type.
public struct SingleFileOptions: Sendable {
    /// A tokenizer folder (`vocab.json` and `merges.txt`) or CLIP's merges file (`bpe_simple_vocab_16e6.txt`).
    /// When nil: the configuration folder's `tokenizer/` (and `tokenizer_2/`), else `defaultTokenizer`.
    public var tokenizer: URL?
    /// A diffusers folder whose `unet/`, `vae/`, `text_encoder/`, `text_encoder_2/` `config.json`,
    /// `scheduler/scheduler_config.json` and `model_index.json` replace what is inferred from the file's shapes
    /// and its family's defaults, each where present.
    public var configuration: URL?
    /// What the UNet predicts, overriding the file's marker (`v_pred`), the configuration folder and the family.
    public var prediction: PredictionType?

    public init(tokenizer: URL? = nil, configuration: URL? = nil, prediction: PredictionType? = nil) {
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.prediction = prediction
    }

    /// CLIP's merges as `scripts/setup.sh` installs them (from the `open_clip_torch` wheel):
    /// `$KINORA_CLIP_BPE`, else `/opt/kinora/clip/bpe_simple_vocab_16e6.txt`.
    public static var defaultTokenizer: URL {
        if let path = ProcessInfo.processInfo.environment["KINORA_CLIP_BPE"], !path.isEmpty {
            return URL(filePath: path)
        }
        return URL(filePath: "/opt/kinora/clip/bpe_simple_vocab_16e6.txt")
    }
}
