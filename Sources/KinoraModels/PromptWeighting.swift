/// One piece of a parsed prompt: text with its attention weight, or an A1111 `BREAK` that starts a new 75-token
/// window.
public enum PromptSegment: Sendable, Equatable {
    case text(String, weight: Double)
    case chunkBreak
}

/// One CLIP context window of a weighted prompt: `maximumLength` ids (BOS, tokens, EOS, padding) and one weight per
/// id (1 for BOS, EOS and padding).
public struct WeightedWindow: Sendable, Equatable {
    public let ids: [Int]
    public let weights: [Double]
}

/// A1111's prompt attention syntax (`parse_prompt_attention` in `modules/prompt_parser.py`), which ComfyUI shares
/// for parentheses: `(text)` multiplies by 1.1, `(text:1.3)` by 1.3, `[text]` divides by 1.1, brackets nest and
/// multiply, unclosed brackets apply to the end, `\(` `\)` `\[` `\]` `\\` are literal, and the word `BREAK` ends
/// the current window. Adjacent segments of equal weight are merged; consecutive `BREAK`s stay separate (A1111
/// merges them into one text segment of weight −1, which it then tokenizes by mistake).
public enum PromptWeighting {
    private static let roundMultiplier = 1.1
    private static let squareMultiplier = 1 / 1.1

    /// The prompt's segments, as `parse_prompt_attention` returns them.
    public static func parse(_ prompt: String) -> [PromptSegment] {
        var result: [PromptSegment] = []
        var round: [Int] = []
        var square: [Int] = []
        func multiply(from start: Int, by factor: Double) {
            for index in start..<result.count {
                if case .text(let text, let weight) = result[index] {
                    result[index] = .text(text, weight: weight * factor)
                }
            }
        }
        func appendText(_ text: String) {
            for (index, part) in splitOnBreak(text).enumerated() {
                if index > 0 {
                    result.append(.chunkBreak)
                }
                result.append(.text(part, weight: 1))
            }
        }
        let scalars = Array(prompt.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "\\":
                let escapable: Set<Unicode.Scalar> = ["(", ")", "[", "]", "\\"]
                if index + 1 < scalars.count, escapable.contains(scalars[index + 1]) {
                    result.append(.text(String(scalars[index + 1]), weight: 1))
                    index += 2
                } else {
                    result.append(.text("", weight: 1))
                    index += 1
                }
            case "(":
                round.append(result.count)
                index += 1
            case "[":
                square.append(result.count)
                index += 1
            case ":":
                if let (weight, end) = explicitWeight(scalars, at: index) {
                    if let start = round.popLast() {
                        multiply(from: start, by: weight)
                    } else {
                        appendText(String(String.UnicodeScalarView(scalars[index..<end])))
                    }
                    index = end
                } else {
                    appendText(":")
                    index += 1
                }
            case ")", "]":
                if scalar == ")", let start = round.popLast() {
                    multiply(from: start, by: roundMultiplier)
                } else if scalar == "]", let start = square.popLast() {
                    multiply(from: start, by: squareMultiplier)
                } else {
                    appendText(String(scalar))
                }
                index += 1
            default:
                let special: Set<Unicode.Scalar> = ["\\", "(", ")", "[", "]", ":"]
                var end = index
                while end < scalars.count, !special.contains(scalars[end]) {
                    end += 1
                }
                appendText(String(String.UnicodeScalarView(scalars[index..<end])))
                index = end
            }
        }
        for start in round {
            multiply(from: start, by: roundMultiplier)
        }
        for start in square {
            multiply(from: start, by: squareMultiplier)
        }
        if result.isEmpty {
            result = [.text("", weight: 1)]
        }
        return merged(result)
    }

    /// Tokenizes a weighted prompt into CLIP windows of `maximumLength − 2` tokens, each token carrying its segment's
    /// weight; `BREAK` closes the current window early. Always at least one window.
    public static func windows(_ prompt: String, tokenizer: CLIPTokenizer) -> [WeightedWindow] {
        let size = tokenizer.maximumLength - 2
        var windows: [WeightedWindow] = []
        var ids: [Int] = []
        var weights: [Double] = []
        func close() {
            let wrapped = tokenizer.window(ids)
            let padding = [Double](repeating: 1, count: wrapped.count - ids.count - 1)
            windows.append(WeightedWindow(ids: wrapped, weights: [1] + weights + padding))
            ids = []
            weights = []
        }
        for segment in parse(prompt) {
            switch segment {
            case .chunkBreak:
                close()
            case .text(let text, let weight):
                for id in tokenizer.ids(text) {
                    if ids.count == size {
                        close()
                    }
                    ids.append(id)
                    weights.append(weight)
                }
            }
        }
        if !ids.isEmpty || windows.isEmpty {
            close()
        }
        return windows
    }

    /// `:\s*([+-]?[.\d]+)\s*\)` at `index`: the weight and the index after the `)`, or nil when the pattern does not
    /// match or its number does not parse.
    private static func explicitWeight(_ scalars: [Unicode.Scalar], at index: Int) -> (Double, Int)? {
        var end = index + 1
        func skipSpaces() {
            while end < scalars.count, scalars[end].properties.isWhitespace {
                end += 1
            }
        }
        skipSpaces()
        let numberStart = end
        if end < scalars.count, scalars[end] == "+" || scalars[end] == "-" {
            end += 1
        }
        let digitsStart = end
        while end < scalars.count, scalars[end] == "." || ("0"..."9").contains(scalars[end]) {
            end += 1
        }
        guard end > digitsStart else { return nil }
        let number = String(String.UnicodeScalarView(scalars[numberStart..<end]))
        skipSpaces()
        guard end < scalars.count, scalars[end] == ")", let weight = Double(number) else { return nil }
        return (weight, end + 1)
    }

    /// `re.split(r"\s*\bBREAK\b\s*", text)`.
    private static func splitOnBreak(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let word = Array("BREAK".unicodeScalars)
        func isWordCharacter(_ position: Int) -> Bool {
            guard (0..<scalars.count).contains(position) else { return false }
            let properties = scalars[position].properties
            return properties.isAlphabetic || properties.numericType != nil || scalars[position] == "_"
        }
        var parts: [String] = []
        var partStart = 0
        var index = 0
        while index + word.count <= scalars.count {
            let isBreak =
                Array(scalars[index..<(index + word.count)]) == word && !isWordCharacter(index - 1)
                && !isWordCharacter(index + word.count)
            guard isBreak else {
                index += 1
                continue
            }
            var start = index
            while start > partStart, scalars[start - 1].properties.isWhitespace {
                start -= 1
            }
            var end = index + word.count
            while end < scalars.count, scalars[end].properties.isWhitespace {
                end += 1
            }
            parts.append(String(String.UnicodeScalarView(scalars[partStart..<start])))
            partStart = end
            index = end
        }
        parts.append(String(String.UnicodeScalarView(scalars[partStart...])))
        return parts
    }

    private static func merged(_ segments: [PromptSegment]) -> [PromptSegment] {
        var result: [PromptSegment] = []
        for segment in segments {
            if case .text(let text, let weight) = segment, case .text(let previous, let previousWeight)? = result.last,
                previousWeight == weight
            {
                result[result.count - 1] = .text(previous + text, weight: weight)
            } else {
                result.append(segment)
            }
        }
        return result
    }
}
