/// How a prompt's text is read before the text encoders see it.
public enum PromptSyntax: String, Sendable, Codable, CaseIterable {
    /// diffusers' pipelines: the text as written, in one window of 77 tokens (BOS, 75 of text, EOS); the rest is
    /// dropped, as diffusers truncates (with a warning). The same seed gives diffusers' image.
    case plain
    /// A1111's and ComfyUI's prompt syntax: `(word:1.3)` emphasis, `[word]`, `BREAK`, and text beyond 75 tokens in
    /// further windows (`PromptWeighting`).
    case a1111

    /// `plain`, so that the same seed gives diffusers' image without a flag.
    public static let `default` = PromptSyntax.plain

    /// The prompt's windows for `tokenizer`: under `plain` exactly one, the truncated text with every weight 1; under
    /// `a1111` one per 75 tokens or `BREAK`, each token weighted.
    public func windows(_ prompt: String, tokenizer: CLIPTokenizer) -> [WeightedWindow] {
        switch self {
        case .plain:
            let ids = tokenizer.paddedIDs(prompt)
            return [WeightedWindow(ids: ids, weights: [Double](repeating: 1, count: ids.count))]
        case .a1111:
            return PromptWeighting.windows(prompt, tokenizer: tokenizer)
        }
    }

    /// How many of the prompt's tokens this syntax drops: under `plain` those beyond the window's 75, under `a1111`
    /// none (they go to further windows).
    public func droppedTokenCount(_ prompt: String, tokenizer: CLIPTokenizer) -> Int {
        switch self {
        case .plain: return max(0, tokenizer.ids(prompt).count - (tokenizer.maximumLength - 2))
        case .a1111: return 0
        }
    }
}
