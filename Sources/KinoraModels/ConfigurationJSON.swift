import Foundation

/// A model's `config.json` decoded into its configuration type, every failure a message that names the file and
/// the key path (`'blocks.0.dim': expected Int`), through the family's own error.
enum ConfigurationJSON {
    /// Reads `url` (a regular file) and decodes it as `type`; `invalid(reason)` makes the family's error.
    static func decode<T: Decodable>(_ type: T.Type, from url: URL, invalid: (String) -> any Error) throws -> T {
        let data: Data
        do {
            data = try RegularFile.contents(of: url)
        } catch {
            throw invalid("cannot read the file (\(error))")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw invalid(describe(error))
        }
    }

    /// `error` as the key path it happened at and what is wrong there.
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "'\(path)': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
