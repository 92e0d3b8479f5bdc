import Foundation

/// A SentencePiece unigram model read from `spiece.model`, encoding as the `sentencepiece` library's
/// `SentencePieceProcessor.encode` does: its normalizer over the whole text, then the unigram model.
struct SentencePieceProcessor: Sendable {
    let normalizer: SentencePieceNormalizer
    let model: SentencePieceUnigramModel

    /// The largest `spiece.model` accepted (UMT5's is about 4.5 MB).
    static let maximumFileSize = 64 << 20

    init(data: Data, file: String) throws(T5TokenizerError) {
        guard data.count <= Self.maximumFileSize else {
            throw .tooLarge(file: file, size: data.count, limit: Self.maximumFileSize)
        }
        let proto = try SentencePieceModelProto(bytes: [UInt8](data), file: file)
        model = try SentencePieceUnigramModel(proto: proto, file: file)
        normalizer = try SentencePieceNormalizer(proto: proto, file: file)
    }

    /// The id of the piece spelled `piece`, whatever its type.
    func id(of piece: String) -> Int? {
        model.proto.pieces.firstIndex { $0.piece == piece }
    }

    /// The ids of `text`, without any special token.
    func ids(_ text: String) -> [Int] {
        model.ids(normalizer.normalize(text))
    }
}
