/// Whether the UNet's weights are streamed block by block from host memory (`UNet2DConditionModel.streamedPrediction`)
/// instead of held on the device for the whole sampling loop.
public enum WeightStreaming: String, Sendable, Codable, CaseIterable {
    /// Resident when the generation fits the budget that way, streamed when only streaming makes it fit.
    case auto
    /// Always streamed: the least device memory, every step uploading the weights again.
    case on
    /// Always resident; a generation whose weights do not fit is refused.
    case off
}
