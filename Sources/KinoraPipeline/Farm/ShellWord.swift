import Foundation

/// Text written as one word of a shell command line, for the commands and job scripts a farm prints and writes.
public enum ShellWord {
    /// `text` as it is when it holds only letters, digits and `_./:=@%+,-`, else in single quotes with each `'`
    /// written as `'\''`.
    public static func quoted(_ text: String) -> String {
        let plain = !text.isEmpty
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_./:=@%+,-".contains($0)) }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
