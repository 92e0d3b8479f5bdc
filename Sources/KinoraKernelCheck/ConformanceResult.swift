import Foundation

/// The outcome of one conformance case on one device.
public struct ConformanceResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case pass, fail, skip
    }

    public var name: String
    public var status: Status
    /// Relative L2 error against the reference (nil when the case did not run).
    public var relativeError: Double?
    public var maxAbsoluteError: Double?
    public var tolerance: Double
    /// Why it failed or was skipped: the error thrown, validation messages, the missing feature.
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case name, status, tolerance, note
        case relativeError = "relative_error"
        case maxAbsoluteError = "max_abs_error"
    }

    public static let header = "status  " + "case".padding(toLength: 60, withPad: " ", startingAt: 0)
        + "  rel. L2 error   tolerance   max |error|"

    /// One aligned line: status, name, errors and tolerance, then the note.
    public var row: String {
        let missing = { (width: Int) in String(repeating: " ", count: width - 1) + "—" }
        let error = relativeError.map { String(format: "%14.3e", $0) } ?? missing(14)
        let absolute = maxAbsoluteError.map { String(format: "%12.3e", $0) } ?? missing(12)
        return status.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
            + name.padding(toLength: 60, withPad: " ", startingAt: 0) + " " + error
            + String(format: "   %9.1e", tolerance) + "  " + absolute + (note.map { "  \($0)" } ?? "")
    }
}
