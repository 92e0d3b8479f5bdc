import Foundation
import KinoraTestSupport

extension ModelTestCase {
    /// The tiny single-file checkpoint `name` (`sd`, `sdxl`, `sd2`) assembled from its layout recipe as
    /// `<name>.safetensors` in a temporary folder removed when the test ends (see `SingleFileFixture`).
    func singleFileFixture(_ name: String) throws -> URL {
        let url = try makeTemporaryFolder(self).appending(path: "\(name).safetensors")
        try SingleFileFixture(name, fixtures: fixturesFolder).write(to: url)
        return url
    }
}
