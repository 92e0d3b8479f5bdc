import Foundation
import Yams

/// One value of a YAML document with its path from the root (`shots[1].final.steps`), read through typed accessors
/// that record a `SourceIssue` (file, line, field) instead of throwing, so a reader can go on and find every
/// problem in one pass. Each accessor returns nil when the value is unusable.
struct YAMLField {
    let node: Node
    let path: String
    let document: YAMLDocument
    /// Where the value is, or its parent's position when the parser gave none.
    let location: SourceLocation

    init(node: Node, path: String, document: YAMLDocument, fallback: SourceLocation) {
        self.node = node
        self.path = path
        self.document = document
        if let mark = node.mark {
            location = SourceLocation(file: document.file, line: mark.line, column: mark.column)
        } else {
            location = fallback
        }
    }

    /// Records a problem with this value.
    func fail(_ message: String) {
        document.report(location, field: path, message)
    }

    /// Whether the value is YAML's null (`~`, `null` or nothing at all).
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A short name for the kind of value, for messages.
    private var kindName: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar): return "'\(scalar.string)'"
        case .alias: return "an alias"
        }
    }

    /// The value as a mapping whose keys must all be in `keys`; an unknown key is reported (with the closest
    /// allowed key when one is near) and skipped.
    func mapping(_ keys: [String]) -> YAMLMapping? {
        guard case .mapping(let mapping) = node else {
            fail("expected a mapping with keys \(keys.joined(separator: ", ")), got \(kindName)")
            return nil
        }
        var entries: [(String, YAMLField)] = []
        for (keyNode, valueNode) in mapping {
            let keyField = YAMLField(node: keyNode, path: path, document: document, fallback: location)
            guard case .scalar(let keyScalar) = keyNode else {
                keyField.fail("keys must be plain words")
                continue
            }
            let key = keyScalar.string
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard keys.contains(key) else {
                let known = keys.joined(separator: ", ")
                document.report(keyField.location, field: childPath,
                                "unknown key '\(key)'\(Suggestion.hint(for: key, in: keys)); known keys: \(known)")
                continue
            }
            entries.append((key, YAMLField(node: valueNode, path: childPath, document: document,
                                           fallback: keyField.location)))
        }
        return YAMLMapping(field: self, entries: entries)
    }

    /// The value as a list of fields (`path[0]`, `path[1]`, ...).
    func sequence() -> [YAMLField]? {
        guard case .sequence(let sequence) = node else {
            fail("expected a list, got \(kindName)")
            return nil
        }
        return sequence.enumerated().map { index, element in
            YAMLField(node: element, path: "\(path)[\(index)]", document: document, fallback: location)
        }
    }

    /// The scalar's text, or nil (and an issue) for a mapping or list.
    func text() -> String? {
        guard case .scalar(let scalar) = node else {
            fail("expected a single value, got \(kindName)")
            return nil
        }
        return scalar.string
    }

    /// A non-empty string.
    func string() -> String? {
        guard let text = text() else { return nil }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            fail("must not be empty")
            return nil
        }
        return text
    }

    /// An integer within `range`.
    func integer(in range: ClosedRange<Int>) -> Int? {
        guard let text = text() else { return nil }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            fail("expected a whole number, got '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            fail("must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            return nil
        }
        return value
    }

    /// An unsigned 64-bit integer (seeds).
    func unsigned() -> UInt64? {
        guard let text = text() else { return nil }
        guard let value = UInt64(text.replacingOccurrences(of: "_", with: "")) else {
            fail("expected a whole number from 0 to \(UInt64.max), got '\(text)'")
            return nil
        }
        return value
    }

    /// A number within `range`, optionally followed by `unit` (compared without case), such as `-6 dB`.
    func number(in range: ClosedRange<Double>, unit: String? = nil) -> Double? {
        guard let text = text() else { return nil }
        var digits = text.trimmingCharacters(in: .whitespaces)
        if let unit, digits.lowercased().hasSuffix(unit.lowercased()) {
            digits = String(digits.dropLast(unit.count)).trimmingCharacters(in: .whitespaces)
        }
        guard let value = Double(digits), value.isFinite else {
            fail("expected a number\(unit.map { " (optionally in \($0))" } ?? ""), got '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            fail("must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound)), got \(text)")
            return nil
        }
        return value
    }

    /// A time in seconds within `range`: `2.5`, `2.5s` or `1:02.5` (minutes and seconds).
    func seconds(in range: ClosedRange<Double>) -> Double? {
        guard let text = text() else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var value: Double?
        let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, let minutes = Int(parts[0]), minutes >= 0, let secs = Double(parts[1]), secs >= 0,
           secs < 60 {
            value = Double(minutes) * 60 + secs
        } else if parts.count == 1 {
            value = Double(trimmed.hasSuffix("s") ? String(trimmed.dropLast()) : trimmed)
        }
        guard let value, value.isFinite else {
            fail("expected a time in seconds (2.5, 2.5s or 1:02.5), got '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            let (low, high) = (Self.format(range.lowerBound), Self.format(range.upperBound))
            fail("must be between \(low) s and \(high) s, got \(text)")
            return nil
        }
        return value
    }

    /// `true`/`false` (also `yes`/`no`, `on`/`off`).
    func boolean() -> Bool? {
        guard let text = text() else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail("expected true or false, got '\(text)'")
            return nil
        }
    }

    /// One of `choices` (the canonical spellings); `aliases` map other accepted spellings to them.
    func choice(_ choices: [String], aliases: [String: String] = [:]) -> String? {
        guard let text = string() else { return nil }
        let lowered = text.lowercased()
        if let value = choices.first(where: { $0 == lowered }) ?? aliases[lowered] { return value }
        fail("unknown value '\(text)'\(Suggestion.hint(for: text, in: choices + aliases.keys)); "
             + "expected one of \(choices.joined(separator: ", "))")
        return nil
    }

    /// A picture size, `512x288` or `[512, 288]`, each side a multiple of 8 between 64 and 8192.
    func size() -> ImageSize? {
        var parsed: ImageSize?
        if case .sequence(let sequence) = node, sequence.count == 2, let width = sequence[0].int,
           let height = sequence[1].int {
            parsed = ImageSize(width: width, height: height)
        } else if case .scalar(let scalar) = node {
            parsed = ImageSize(parsing: scalar.string)
        }
        guard let size = parsed else {
            fail("expected a size such as 512x288 or [512, 288]")
            return nil
        }
        var problems: [String] = []
        for (name, side) in [("width", size.width), ("height", size.height)] {
            if !(64...8192).contains(side) {
                problems.append("\(name) \(side) is outside 64...8192")
            } else if side % 8 != 0 {
                let lower = side / 8 * 8
                problems.append("\(name) \(side) is not a multiple of 8 (try \(lower) or \(lower + 8))")
            }
        }
        guard problems.isEmpty else {
            fail(problems.joined(separator: "; "))
            return nil
        }
        return size
    }

    /// A number without a trailing `.0`.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
