/// Latent frames `range` of a [1, C, F, H, W] video of `frames` frames of `height` x `width`, as [1, C, range, H, W].
func latentFrames(_ video: [Float], _ range: Range<Int>, channels: Int, frames: Int, height: Int, width: Int)
    -> [Float] {
    let plane = height * width
    var result: [Float] = []
    for channel in 0..<channels {
        for frame in range {
            let start = (channel * frames + frame) * plane
            result += video[start..<(start + plane)]
        }
    }
    return result
}
