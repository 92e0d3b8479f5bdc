/// Parses the text of an ncnn `.param` file: the magic `7767517`, `layerCount blobCount`, then one layer a line. The
/// graph is checked as it is read: counts agree with the header, every blob is written by exactly one layer before any
/// layer reads it, and layer names are unique.
enum NCNNParamParser {
    static let magic = 7_767_517
    /// Bounds on what one file may declare, far above any real model (Real-ESRGAN x4plus has 999 layers).
    static let maximumLayers = 1_000_000
    static let maximumBlobsPerLayer = 4096

    static func parse(_ text: String, file: String) throws -> [NCNNLayer] {
        // Lines end in "\n" or "\r\n" (one Character in Swift, so split on newlines, not on "\n").
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, fields: $0.element.split(whereSeparator: { $0 == " " || $0 == "\t" })) }
            .filter { !$0.fields.isEmpty }
            .makeIterator()
        guard let magicLine = lines.next(), magicLine.fields.count == 1, Int(magicLine.fields[0]) == magic else {
            throw NCNNError.malformedParam(file: file, line: 1, reason: "the first line is not ncnn's magic 7767517")
        }
        guard let header = lines.next(), header.fields.count == 2, let layerCount = Int(header.fields[0]),
            let blobCount = Int(header.fields[1]), (0...maximumLayers).contains(layerCount),
            (0...(maximumLayers * 16)).contains(blobCount)
        else {
            throw NCNNError.malformedParam(
                file: file, line: 2, reason: "the second line must be 'layerCount blobCount' (each from 0)")
        }
        var layers: [NCNNLayer] = []
        var producedBlobs = Set<String>()
        var layerNames = Set<String>()
        while let line = lines.next() {
            let layer = try parseLayer(line.fields.map(String.init), line: line.number, file: file)
            guard layers.count < layerCount else {
                throw NCNNError.malformedParam(
                    file: file, line: line.number, reason: "more layers than the \(layerCount) the header declares")
            }
            guard layerNames.insert(layer.name).inserted else {
                throw NCNNError.malformedParam(
                    file: file, line: line.number, reason: "a second layer named '\(layer.name)'")
            }
            for bottom in layer.bottoms where !producedBlobs.contains(bottom) {
                throw NCNNError.malformedParam(
                    file: file, line: line.number,
                    reason: "layer '\(layer.name)' reads blob '\(bottom)' before any layer writes it")
            }
            for top in layer.tops where !producedBlobs.insert(top).inserted {
                throw NCNNError.malformedParam(
                    file: file, line: line.number, reason: "blob '\(top)' is written by two layers")
            }
            layers.append(layer)
        }
        guard layers.count == layerCount else {
            throw NCNNError.invalidGraph(
                file: file, reason: "the header declares \(layerCount) layers, the file has \(layers.count)")
        }
        guard producedBlobs.count == blobCount else {
            throw NCNNError.invalidGraph(
                file: file, reason: "the header declares \(blobCount) blobs, the layers write \(producedBlobs.count)")
        }
        return layers
    }

    private static func parseLayer(_ fields: [String], line: Int, file: String) throws -> NCNNLayer {
        func fail(_ reason: String) -> NCNNError { .malformedParam(file: file, line: line, reason: reason) }
        guard fields.count >= 4, let bottomCount = Int(fields[2]), let topCount = Int(fields[3]),
            (0...maximumBlobsPerLayer).contains(bottomCount), (0...maximumBlobsPerLayer).contains(topCount)
        else { throw fail("a layer line must be 'Type name bottomCount topCount bottoms… tops… params…'") }
        guard fields.count >= 4 + bottomCount + topCount else {
            throw fail("layer '\(fields[1])' lists fewer than its \(bottomCount) inputs and \(topCount) outputs")
        }
        let bottoms = Array(fields[4..<(4 + bottomCount)])
        let tops = Array(fields[(4 + bottomCount)..<(4 + bottomCount + topCount)])
        var values: [Int: NCNNParameters.Value] = [:]
        for field in fields[(4 + bottomCount + topCount)...] {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let rawID = Int(parts[0]) else {
                throw fail("'\(field)' is not a parameter 'id=value'")
            }
            let isArray = rawID <= -23300
            let id = isArray ? -23300 - rawID : rawID
            guard (0...NCNNParameters.maximumID).contains(id) else {
                throw fail("parameter id \(rawID) is outside 0...\(NCNNParameters.maximumID)")
            }
            guard values[id] == nil else { throw fail("parameter \(id) is given twice") }
            values[id] = try isArray ? array(String(parts[1]), fail) : scalar(String(parts[1]), fail)
        }
        return NCNNLayer(
            type: fields[0], name: fields[1], bottoms: bottoms, tops: tops,
            parameters: NCNNParameters(values: values))
    }

    private static func isFloat(_ text: String) -> Bool {
        text.contains(".") || text.contains("e") || text.contains("E")
    }

    private static func scalar(_ text: String, _ fail: (String) -> NCNNError) throws -> NCNNParameters.Value {
        if isFloat(text) {
            guard let value = Float(text), value.isFinite else { throw fail("'\(text)' is not a finite float") }
            return .float(value)
        }
        guard let value = Int(text) else { throw fail("'\(text)' is not an integer") }
        return .int(value)
    }

    private static func array(_ text: String, _ fail: (String) -> NCNNError) throws -> NCNNParameters.Value {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let count = items.first.flatMap({ Int($0) }), count == items.count - 1 else {
            throw fail("array '\(text)' does not start with the count of its \(items.count - 1) values")
        }
        let values = Array(items.dropFirst())
        if values.contains(where: isFloat) {
            return .floats(
                try values.map {
                    guard let value = Float($0), value.isFinite else { throw fail("'\($0)' is not a finite float") }
                    return value
                })
        }
        return .ints(
            try values.map {
                guard let value = Int($0) else { throw fail("'\($0)' is not an integer") }
                return value
            })
    }
}
