import Foundation

/// Stage results that are arrays of floats (text conditioning, latents, decoded pictures) as files that read back
/// bit for bit: the magic `KF32`, the rank and each dimension as little-endian 32-bit integers, then the values as
/// little-endian f32.
public enum FloatArrayFile {
    static let magic = Array("KF32".utf8)

    /// Why a file is not a float array.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Writes `values` with `shape` (whose product must be the count) to `url`.
    public static func write(_ values: [Float], shape: [Int], to url: URL) throws {
        guard shape.reduce(1, *) == values.count, shape.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else {
            throw Failure(path: url.path, reason: "shape \(shape) does not hold \(values.count) values")
        }
        var data = Data(magic)
        var header = ([UInt32(shape.count)] + shape.map { UInt32($0) }).map(\.littleEndian)
        data.append(Data(bytes: &header, count: header.count * 4))
        values.map(\.bitPattern.littleEndian).withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: url)
    }

    /// Reads a file `write` made.
    public static func read(_ url: URL) throws -> (values: [Float], shape: [Int]) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw Failure(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        func word(_ index: Int) -> Int? {
            let offset = 4 + 4 * index
            guard offset + 4 <= bytes.count else { return nil }
            return Int(UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                       | UInt32(bytes[offset + 3]) << 24)
        }
        guard bytes.count >= 8, Array(bytes[0..<4]) == magic, let rank = word(0), rank <= 8 else {
            throw Failure(path: url.path, reason: "not a KF32 float array")
        }
        let shape = (0..<rank).compactMap { word(1 + $0) }
        guard shape.count == rank else {
            throw Failure(path: url.path, reason: "holds \(bytes.count) bytes, too few for its \(rank) dimensions")
        }
        let start = 8 + 4 * rank
        guard let valueBytes = Self.valueBytes(of: shape), bytes.count - start == valueBytes else {
            throw Failure(path: url.path, reason: "holds \(bytes.count - start) bytes of values, not the 4 per value "
                          + "that shape \(shape) needs")
        }
        let values = (0..<valueBytes / 4).map { index -> Float in
            let offset = start + 4 * index
            return Float(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
                         | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
        return (values, shape)
    }

    /// Bytes of the values of `shape`; nil when that overflows `Int` (a damaged header).
    private static func valueBytes(of shape: [Int]) -> Int? {
        var product = 4
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            product = next
        }
        return product
    }
}
