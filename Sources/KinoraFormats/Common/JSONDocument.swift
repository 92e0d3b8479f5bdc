/// A JSON value as the weight readers see it. Integers are kept exact (`Int`), so byte offsets past 2^53 are not
/// rounded as a `Double` reading would round them; objects keep their keys in file order.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// A short name of the value's kind, for messages ("a string", "an array").
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Why a JSON text could not be parsed: what was wrong and at which byte, so a damaged header can be found with a hex
/// viewer.
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    /// Offset of the offending byte from the start of the parsed text.
    public let offset: Int
    public let reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 parser over bytes, for headers and indexes inside weight files. Nesting is limited (no stack
/// exhaustion from `[[[[…`), duplicate object keys are refused (a reader could otherwise see a different tensor than
/// another tool), and every error says where it happened.
public struct JSONDocument {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 64

    /// Parses `bytes` as one JSON value with nothing but whitespace after it.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw parser.error("unexpected content after the JSON value")
        }
        return value
    }

    /// Parses the bytes of `text`.
    public static func parse(_ text: [UInt8]) throws -> JSONValue {
        try text.withUnsafeBytes { try parse($0) }
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        func error(_ reason: String, at offset: Int? = nil) -> JSONSyntaxError {
            JSONSyntaxError(offset: offset ?? position, reason: reason)
        }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                position += 1
            }
        }

        mutating func expect(_ literal: String, value: JSONValue) throws -> JSONValue {
            for expected in literal.utf8 {
                guard current == expected else { throw error("invalid literal (expected '\(literal)')") }
                position += 1
            }
            return value
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard let byte = current else { throw error("the text ends where a value was expected") }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", value: .bool(true))
            case UInt8(ascii: "f"): return try expect("false", value: .bool(false))
            case UInt8(ascii: "n"): return try expect("null", value: .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected byte 0x\(String(byte, radix: 16)) where a value was expected")
            }
        }

        mutating func object(depth: Int) throws -> JSONValue {
            guard depth <= JSONDocument.maximumDepth else {
                throw error("nesting deeper than \(JSONDocument.maximumDepth) levels")
            }
            position += 1
            var members: [(key: String, value: JSONValue)] = []
            // Keys compare by their bytes: Swift's String equality would merge canonically equivalent spellings.
            var keys = Set<[UInt8]>()
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                let keyOffset = position
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key in an object") }
                let key = try string()
                guard keys.insert(Array(key.utf8)).inserted else {
                    throw error("duplicate key '\(key)'", at: keyOffset)
                }
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':' after the key '\(key)'") }
                position += 1
                skipWhitespace()
                members.append((key, try value(depth: depth)))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"):
                    position += 1
                    return .object(members)
                default: throw error("expected ',' or '}' in an object")
                }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            guard depth <= JSONDocument.maximumDepth else {
                throw error("nesting deeper than \(JSONDocument.maximumDepth) levels")
            }
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"):
                    position += 1
                    return .array(elements)
                default: throw error("expected ',' or ']' in an array")
                }
            }
        }

        mutating func number() throws -> JSONValue {
            let start = position
            if current == UInt8(ascii: "-") { position += 1 }
            guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                throw error("a number needs a digit here")
            }
            if first == UInt8(ascii: "0") {
                position += 1
            } else {
                skipDigits()
            }
            var isInteger = true
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard skipDigits() > 0 else { throw error("a fraction needs a digit after '.'") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard skipDigits() > 0 else { throw error("an exponent needs a digit") }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            if isInteger {
                guard let integer = Int(text) else {
                    throw error("the integer \(text) does not fit in 64 bits", at: start)
                }
                return .integer(integer)
            }
            guard let number = Double(text), number.isFinite else {
                throw error("the number \(text) is out of range", at: start)
            }
            return .number(number)
        }

        @discardableResult
        mutating func skipDigits() -> Int {
            let start = position
            while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                position += 1
            }
            return position - start
        }

        mutating func string() throws -> String {
            position += 1
            var scalars = String.UnicodeScalarView()
            var runStart = position
            func flushRun(_ parser: Parser, into scalars: inout String.UnicodeScalarView) throws {
                let run = UnsafeRawBufferPointer(rebasing: parser.bytes[runStart..<parser.position])
                guard let text = String(validating: run, as: UTF8.self) else {
                    throw parser.error("a string is not valid UTF-8", at: runStart)
                }
                scalars.append(contentsOf: text.unicodeScalars)
            }
            while true {
                guard let byte = current else { throw error("the text ends inside a string") }
                switch byte {
                case UInt8(ascii: "\""):
                    try flushRun(self, into: &scalars)
                    position += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flushRun(self, into: &scalars)
                    position += 1
                    scalars.append(try escape())
                    runStart = position
                case 0..<0x20:
                    throw error("a control character inside a string must be escaped")
                default:
                    position += 1
                }
            }
        }

        mutating func escape() throws -> Unicode.Scalar {
            guard let byte = current else { throw error("the text ends inside an escape") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let start = position - 2
                let high = try hexQuad()
                if (0xD800..<0xDC00).contains(high) {
                    guard current == UInt8(ascii: "\\"), position + 1 < bytes.count,
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error("a high surrogate is not followed by a low one", at: start) }
                    position += 2
                    let low = try hexQuad()
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw error("a high surrogate is not followed by a low one", at: start)
                    }
                    return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
                }
                guard let scalar = Unicode.Scalar(high) else {
                    throw error("a lone low surrogate \\u\(String(high, radix: 16))", at: start)
                }
                return scalar
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(byte)))'", at: position - 2)
            }
        }

        mutating func hexQuad() throws -> UInt32 {
            var result: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = current, let digit = hexValue(byte) else {
                    throw error("\\u needs four hexadecimal digits")
                }
                result = result << 4 | digit
                position += 1
            }
            return result
        }

        func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
    }
}
