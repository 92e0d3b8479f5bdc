import Foundation
import KinoraFormats
import KinoraGPU
import KinoraTensor
import XCTest

@testable import KinoraModels

/// `EncodecDecoder` against transformers 5.23's `EncodecModel.decode` on two tiny random codecs in fp32: the one of
/// transformers' MusicGen test inside a MusicGen checkpoint, and a standalone one shaped like MusicGen's 32 kHz
/// codec; the quantizer and the LSTM alone; pieces of a long decode against the whole.
final class EncodecDecoderTests: ModelTestCase {
    /// fp32 bound on the relative L2 error against transformers (lavapipe gives 2e-7 to 6e-7; the bound leaves room
    /// for other drivers' summation orders and transcendentals).
    static let fp32Tolerance = 1e-5

    func testMusicGenCheckpointDecodesAsTransformers() throws {
        let fixture = try EncodecFixture("musicgen-tiny", test: self)
        let codec = try fixture.model(self)
        XCTAssertTrue(codec.configuration.useCausalConv)
        XCTAssertEqual(codec.configuration.hopLength, 320)
        let actual = try codec.decode(codes: fixture.codes(), arena: arena)
        let expected = try fixture.values("decoded")
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, "musicgen-tiny")
        print("EnCodec musicgen-tiny decode [4, 9] -> 2880 samples: relative L2 \(relativeL2(actual, expected))")
    }

    func testStandaloneCodecDecodesAsTransformers() throws {
        let fixture = try EncodecFixture("small", test: self)
        let codec = try fixture.model(self)
        let codes = try fixture.codes()
        for (name, input) in [
            ("decoded", codes), ("decoded_3", Array(codes.prefix(3))),
            ("decoded_short", try fixture.codes("codes_short")),
        ] {
            let actual = try codec.decode(codes: input, arena: arena)
            let expected = try fixture.values(name)
            assertClose(actual, expected, tolerance: Self.fp32Tolerance, name)
            print(
                "EnCodec small \(name) [\(input.count), \(input[0].count)]: relative L2 "
                    + "\(relativeL2(actual, expected))")
        }
    }

    func testQuantizerSumsTheCodebookEntriesAsTransformers() throws {
        let fixture = try EncodecFixture("small", test: self)
        let actual = try fixture.model(self).embeddings(codes: fixture.codes())
        assertClose(actual, try fixture.values("quantized"), tolerance: 1e-7, "quantized")
    }

    func testLSTMMatchesTransformers() throws {
        let fixture = try EncodecFixture("small", test: self)
        let codec = try fixture.model(self)
        let graph = makeGraph()
        let lstm = EncodecLSTM(weights: codec.weights.scoped("decoder.layers.1.lstm"), layers: 2)
        let output = try lstm(graph, graph.input(fixture.values("lstm_input"), shape: fixture.shape("lstm_input")))
        XCTAssertEqual(output.shape, try fixture.shape("lstm_output"))
        let actual = try graph.run([output])[0].floats()
        let expected = try fixture.values("lstm_output")
        assertClose(actual, expected, tolerance: Self.fp32Tolerance, "lstm")
        print("EnCodec LSTM (2 layers, width 16, 37 steps): relative L2 \(relativeL2(actual, expected))")
    }

    /// Decoding in pieces with `decodeContextFrames` of context gives the one-shot decode; without the context the
    /// piece edges show.
    func testDecodeInPiecesIsTheWholeDecode() throws {
        for name in ["small", "musicgen-tiny"] {
            let fixture = try EncodecFixture(name, test: self)
            let codec = try fixture.model(self)
            let codes = try fixture.codes()
            let whole = try codec.decode(codes: codes, arena: arena, chunkFrames: codes[0].count)
            let graph = makeGraph()
            let embeddings = try graph.input(
                codec.embeddings(codes: codes), shape: [1, codec.configuration.hiddenSize, codes[0].count])
            let oneGraph = try graph.run([codec.decode(graph, embeddings: embeddings)])[0].floats()
            XCTAssertEqual(oneGraph, whole, name)
            let pieces = try codec.decode(codes: codes, arena: arena, chunkFrames: 2)
            let error = relativeL2(pieces, whole)
            XCTAssertLessThanOrEqual(error, 1e-6, name)
            let blind = try codec.decode(codes: codes, arena: arena, chunkFrames: 2, contextFrames: 0)
            XCTAssertGreaterThan(relativeL2(blind, whole), 1e-3, name)
            print(
                "EnCodec \(name) in pieces of 2 frames (context \(codec.decodeContextFrames)) vs whole: relative L2 "
                    + "\(error)")
        }
    }

    /// The plan of a decode in pieces is the allocator's peak while it runs (weights already resident).
    func testPlannedDecodeIsTheMeasuredPeak() throws {
        let fixture = try EncodecFixture("small", test: self)
        let codec = try fixture.model(self)
        let codes = try fixture.codes()
        _ = try codec.decode(codes: codes, arena: arena)
        let memory = device.memory
        for chunk in [5, 37] {
            let plan = try codec.plannedDecode(frames: codes[0].count, chunkFrames: chunk)
            memory.resetPeak()
            let before = memory.liveBytes
            _ = try codec.decode(codes: codes, arena: ActivationArena(device: device), chunkFrames: chunk)
            let measured = memory.peakBytes - before
            print("EnCodec small, pieces of \(chunk): planned peak \(plan.peakBytes) B, measured \(measured) B")
            XCTAssertGreaterThanOrEqual(Double(plan.peakBytes), 0.95 * Double(measured))
            XCTAssertLessThanOrEqual(Double(plan.peakBytes), 1.05 * Double(measured))
        }
    }

    /// MusicGen's codec over a 2-minute cue (6000 frames): the head and a piece of `defaultChunkFrames` stay within
    /// the Vulkan minimum limits (bindings of 128 MiB, lavapipe's), which the one-shot decode breaks, and the plan
    /// of the decode says so.
    func testTwoMinutesOfMusicGenDecodeWithinDeviceLimitsInPieces() throws {
        let configuration = EncodecConfig.musicgen32kHz
        let shapes = Dictionary(
            uniqueKeysWithValues: EncodecDecoder.parameterShapes(configuration).map { ($0.name, $0.shape) })
        let codec = try EncodecDecoder(
            configuration: configuration,
            weights: .shapesOnly(store: RandomWeightStore(shapes: shapes, sourceName: "musicgen-small"), device: device)
        )
        let limits = DeviceLimits.specificationMinimum
        let frames = 6000
        let head = makeGraph()
        let hidden = try codec.head(head, head.placeholder(shape: [1, 128, frames]))
        XCTAssertEqual(hidden.shape, [1, 1024, frames])
        XCTAssertEqual(head.limitViolations(limits), [])
        let piece = makeGraph()
        let length = codec.defaultChunkFrames + 2 * codec.decodeContextFrames
        let audio = try codec.decoder.upsample(piece, piece.placeholder(shape: [1, 1024, length]))
        XCTAssertEqual(audio.shape, [1, 1, length * 640])
        XCTAssertEqual(piece.limitViolations(limits), [])
        let whole = makeGraph()
        _ = try codec.decoder.upsample(whole, whole.placeholder(shape: [1, 1024, frames]))
        XCTAssertFalse(whole.limitViolations(limits).isEmpty)
        let plan = try codec.plannedDecode(frames: frames, precision: .fp32)
        XCTAssertEqual(plan.head.outputBytes, UInt64(1024 * frames * 4))
        // Without a precision the random F16 weights' type: the same pieces, the head's output in half the bytes.
        XCTAssertEqual(try codec.plannedDecode(frames: frames).head.outputBytes, UInt64(1024 * frames * 2))
        XCTAssertLessThanOrEqual(plan.largestBufferBytes, limits.maxStorageBufferRange)
        XCTAssertLessThan(plan.peakBytes, 512 << 20)
        print(
            "EnCodec 32 kHz: pieces of \(codec.defaultChunkFrames) frames with \(codec.decodeContextFrames) of "
                + "context; largest buffer: head \(head.dispatchExtents.bufferBytes) B, "
                + "piece \(piece.dispatchExtents.bufferBytes) B; planned peak \(plan.peakBytes) B beside the weights")
    }
}
