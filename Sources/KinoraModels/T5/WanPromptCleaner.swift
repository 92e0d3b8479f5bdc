/// The prompt cleaning of diffusers' Wan pipelines (`prompt_clean` in `pipelines/wan/pipeline_wan.py`, diffusers
/// 0.42.1) as it runs where ftfy is not installed: Python's `html.unescape` twice, then every run of whitespace (as
/// Python's `\s` and `str.isspace` see it) becomes one space and the ends are stripped.
///
/// Where ftfy is installed, diffusers (and Wan's own `wan/modules/t5.py`, which requires it) first runs
/// `ftfy.fix_text`, which this does not reproduce: it repairs mojibake (`cafÃ©` → `café`), turns curly quotes and
/// apostrophes into straight ones, expands Latin ligatures, narrows full-width characters, removes control and some
/// invisible characters, unescapes HTML only in text without `<`…`>` tags, and applies NFC. The T5 charsmap (nmt_nfkc)
/// already does the width, ligature and most composition changes, so prompts differ only where they hold curly quotes,
/// mojibake, or control characters the charsmap keeps.
public enum WanPromptCleaner {
    /// `prompt` cleaned as the Wan pipeline cleans it before tokenizing.
    public static func clean(_ prompt: String) -> String {
        var words: [String.UnicodeScalarView] = []
        var current = String.UnicodeScalarView()
        for scalar in unescapeHTML(unescapeHTML(prompt)).unicodeScalars {
            if tables.whitespace.contains(scalar.value) {
                if !current.isEmpty { words.append(current) }
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words.map { String($0) }.joined(separator: " ")
    }

    /// CPython 3.11's `html.unescape`: numeric references (decimal or hex, `;` optional) with HTML5's replacements
    /// for invalid numbers, and named references, a longest known prefix when the whole name is not one.
    public static func unescapeHTML(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains("&") else { return text }
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if scalars[index] == "&", let (replacement, end) = reference(scalars, at: index + 1) {
                output.append(contentsOf: replacement.unicodeScalars)
                index = end
            } else {
                output.append(scalars[index])
                index += 1
            }
        }
        return String(output)
    }

    /// The replacement of the reference whose text starts at `start` (after `&`) and where it ends, or nil where
    /// `html._charref` does not match.
    private static func reference(_ scalars: [Unicode.Scalar], at start: Int) -> (String, Int)? {
        func isDigit(_ scalar: Unicode.Scalar, hex: Bool) -> Bool {
            ("0"..."9").contains(scalar) || (hex && (("a"..."f").contains(scalar) || ("A"..."F").contains(scalar)))
        }
        guard start < scalars.count else { return nil }
        if scalars[start] == "#" {
            var digitsStart = start + 1
            let hex = digitsStart < scalars.count && (scalars[digitsStart] == "x" || scalars[digitsStart] == "X")
            if hex { digitsStart += 1 }
            var end = digitsStart
            while end < scalars.count, isDigit(scalars[end], hex: hex) { end += 1 }
            guard end > digitsStart else { return nil }
            let digits = String(String.UnicodeScalarView(scalars[digitsStart..<end]))
            if end < scalars.count, scalars[end] == ";" { end += 1 }
            // A number too long for UInt32 is above U+10FFFF all the same.
            let number = UInt32(digits, radix: hex ? 16 : 10) ?? UInt32.max
            return (numericReplacement(number), end)
        }
        var end = start
        while end < scalars.count, end - start < 32, !"\t\n\u{0C} <&#;".unicodeScalars.contains(scalars[end]) {
            end += 1
        }
        guard end > start else { return nil }
        if end < scalars.count, scalars[end] == ";" { end += 1 }
        let name = String(String.UnicodeScalarView(scalars[start..<end]))
        if let replacement = tables.named[name] { return (replacement, end) }
        let nameScalars = Array(name.unicodeScalars)
        for length in stride(from: nameScalars.count - 1, to: 1, by: -1) {
            if let replacement = tables.named[String(String.UnicodeScalarView(nameScalars[..<length]))] {
                return (replacement + String(String.UnicodeScalarView(nameScalars[length...])), end)
            }
        }
        return ("&" + name, end)
    }

    private static func numericReplacement(_ number: UInt32) -> String {
        if let replacement = tables.invalidReferences[number] { return replacement }
        if (0xD800...0xDFFF).contains(number) || number > 0x10FFFF { return "\u{FFFD}" }
        if tables.invalidCodePoints.contains(number) { return "" }
        return Unicode.Scalar(number).map { String($0) } ?? "\u{FFFD}"
    }

    /// `PythonHTMLTables` parsed once.
    private struct Tables: Sendable {
        let named: [String: String]
        let invalidReferences: [UInt32: String]
        let invalidCodePoints: Set<UInt32>
        let whitespace: Set<UInt32>

        init() {
            func characters(_ hex: Substring) -> String {
                String(
                    String.UnicodeScalarView(
                        hex.split(separator: ",").compactMap {
                            UInt32($0, radix: 16).flatMap(Unicode.Scalar.init)
                        }))
            }
            var named: [String: String] = [:]
            for line in PythonHTMLTables.namedReferences.split(separator: "\n") {
                let parts = line.split(separator: " ")
                named[String(parts[0])] = characters(parts[1])
            }
            self.named = named
            var invalidReferences: [UInt32: String] = [:]
            for entry in PythonHTMLTables.invalidCharacterReferences.split(separator: " ") {
                let parts = entry.split(separator: ":")
                invalidReferences[UInt32(parts[0], radix: 16)!] = characters(parts[1])
            }
            self.invalidReferences = invalidReferences
            invalidCodePoints = Set(
                PythonHTMLTables.invalidCodePoints.split(separator: " ").map {
                    UInt32($0, radix: 16)!
                })
            whitespace = Set(PythonHTMLTables.pythonWhitespace.split(separator: " ").map { UInt32($0, radix: 16)! })
        }
    }

    private static let tables = Tables()
}
