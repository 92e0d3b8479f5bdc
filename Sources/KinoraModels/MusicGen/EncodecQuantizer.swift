import KinoraFormats

/// The decode half of transformers' `EncodecResidualVectorQuantizer`: each codebook's entry for its code
/// (`quantizer.layers.{i}.codebook.embed`, [codebook_size, codebook_dim]), summed over the codebooks given, in
/// codebook order and in f32 as PyTorch sums them.
///
/// The lookup runs on the host, straight from the (memory-mapped) weight file in its dtype: a decode needs one row
/// per codebook and frame, so the codebooks never go to the device.
struct EncodecQuantizer {
    let configuration: EncodecConfig
    let store: any WeightStore
    /// The full name of each codebook's table, in codebook order.
    let tables: [String]

    init(configuration: EncodecConfig, weights: DeviceWeights) {
        self.configuration = configuration
        store = weights.store
        let scope = weights.prefix.isEmpty ? "" : weights.prefix + "."
        tables = (0..<configuration.numQuantizers).map { "\(scope)\(Self.table($0))" }
    }

    /// The name of codebook `index`'s table under the model's scope.
    static func table(_ index: Int) -> String { "quantizer.layers.\(index).codebook.embed" }

    /// Checks that `codes` ([codebooks][frames]) can be decoded: 1 to `num_quantizers` codebooks, rows of one
    /// length of at least a frame, every code inside its codebook.
    func validate(_ codes: [[Int]]) throws {
        let books = configuration.numQuantizers
        guard (1...books).contains(codes.count) else {
            throw EncodecError.invalidCodes(
                reason: "\(codes.count) codebooks given; \(configuration.summary) decodes 1 to \(books)")
        }
        let frames = codes[0].count
        guard frames >= 1 else { throw EncodecError.invalidCodes(reason: "no frames: the code rows are empty") }
        for (book, row) in codes.enumerated() {
            guard row.count == frames else {
                throw EncodecError.invalidCodes(
                    reason: "codebook \(book) has \(row.count) frames, codebook 0 has \(frames): every codebook needs "
                        + "one code per frame")
            }
            if let (frame, code) = row.enumerated().first(where: { !(0..<configuration.codebookSize).contains($1) }) {
                throw EncodecError.invalidCodes(
                    reason:
                        "code \(code) at codebook \(book), frame \(frame) is outside 0..<\(configuration.codebookSize)"
                        + " (codebook_size)")
            }
        }
    }

    /// The summed entries of `codes` ([codebooks][frames], validated) as [codebook_dim, frames], row-major: the
    /// decoder's input for one item.
    func embeddings(_ codes: [[Int]]) throws -> [Float] {
        try validate(codes)
        let (width, frames) = (configuration.codebookDim, codes[0].count)
        var sum = [Float](repeating: 0, count: width * frames)
        for (book, row) in codes.enumerated() {
            let info = try store.info(tables[book])
            let rowBytes = width * info.dtype.size
            try store.withBytes(of: tables[book]) { table in
                for (frame, code) in row.enumerated() {
                    let entry = TensorDecoding.floats(
                        UnsafeRawBufferPointer(rebasing: table[(code * rowBytes)..<((code + 1) * rowBytes)]),
                        dtype: info.dtype, count: width)
                    let scale = info.scale ?? 1
                    for channel in 0..<width { sum[channel * frames + frame] += entry[channel] * scale }
                }
            }
        }
        return sum
    }
}
