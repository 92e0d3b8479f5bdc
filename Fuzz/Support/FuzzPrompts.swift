/// Prompts the tokenizer harnesses encode with every model that loads: ASCII, spaces, compatibility characters the
/// NFKC charsmap rewrites, combining marks, CJK, emoji, special-token text, and an empty string.
public enum FuzzPrompts {
    public static let all = [
        "", "a cat", "  two  spaces\tand\na newline ", "ｆｕｌｌ ① ﬁ Ⅻ ㎏", "e\u{301} A\u{30A} Ầ", "漢字かなカナ한국어",
        "🙂👍🏽 flags 🇫🇷", "</s><pad><unk> ▁", String(repeating: "long ", count: 40),
    ]
}
