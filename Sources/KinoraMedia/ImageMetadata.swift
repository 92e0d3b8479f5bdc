import Foundation
import KinoraFormats

/// Adds text tags to encoded still images: tEXt chunks in PNG, COM segments in JPEG, an XMP chunk in WebP.
enum ImageMetadata {
    static func insert(_ tags: [String: String], into bytes: [UInt8], format: StillImageFormat, width: Int,
                       height: Int) -> [UInt8] {
        guard !tags.isEmpty else { return bytes }
        let sorted = tags.sorted { $0.key < $1.key }
        switch format {
        case .png: return insertPNG(sorted, into: bytes)
        case .jpeg: return insertJPEG(sorted, into: bytes)
        case .webp: return insertWebP(sorted, into: bytes, width: width, height: height)
        }
    }

    /// tEXt chunks right after IHDR (8-byte signature + 25-byte IHDR chunk). Keys are cut to PNG's 79 bytes.
    private static func insertPNG(_ tags: [(key: String, value: String)], into bytes: [UInt8]) -> [UInt8] {
        var chunks: [UInt8] = []
        for (key, value) in tags {
            let body = Array("tEXt".utf8) + Array(key.utf8.prefix(79)) + [0] + Array(value.utf8)
            chunks += bigEndian32(UInt32(body.count - 4)) + body + bigEndian32(body.withUnsafeBytes(CRC32.checksum))
        }
        return Array(bytes[0..<33]) + chunks + Array(bytes[33...])
    }

    /// One COM segment per tag ("key=value") after the SOI marker.
    private static func insertJPEG(_ tags: [(key: String, value: String)], into bytes: [UInt8]) -> [UInt8] {
        var segments: [UInt8] = []
        for (key, value) in tags {
            let text = Array("\(key)=\(value)".utf8.prefix(65533))
            let length = text.count + 2
            segments += [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + text
        }
        return Array(bytes[0..<2]) + segments + Array(bytes[2...])
    }

    /// Converts a simple WebP to the extended layout (VP8X with the XMP flag) and appends an XMP chunk.
    private static func insertWebP(_ tags: [(key: String, value: String)], into bytes: [UInt8], width: Int,
                                   height: Int) -> [UInt8] {
        var attributes = ""
        for (key, value) in tags {
            let name = String(key.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
            attributes += " kinora:\(name.first?.isLetter == true ? name : "_" + name)=\"\(xmlEscaped(value))\""
        }
        let xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"
            + "<rdf:Description rdf:about=\"\" xmlns:kinora=\"https://kinora.dev/ns/1.0/\"\(attributes)/>"
            + "</rdf:RDF></x:xmpmeta>"
        var xmpChunk = Array("XMP ".utf8) + littleEndian32(UInt32(xmp.utf8.count)) + Array(xmp.utf8)
        if xmp.utf8.count % 2 == 1 { xmpChunk.append(0) }
        var body = Array(bytes[12...])
        if Array(body[0..<4]) == Array("VP8X".utf8) {
            body[8] |= 0x04
        } else {
            let vp8x = Array("VP8X".utf8) + littleEndian32(10) + [0x04, 0, 0, 0]
                + Array(littleEndian32(UInt32(width - 1)).prefix(3)) + Array(littleEndian32(UInt32(height - 1)).prefix(3))
            body = vp8x + body
        }
        body += xmpChunk
        return Array("RIFF".utf8) + littleEndian32(UInt32(body.count + 4)) + Array("WEBP".utf8) + body
    }

    private static func xmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func bigEndian32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func littleEndian32(_ value: UInt32) -> [UInt8] { bigEndian32(value).reversed() }
}
