/// How long the stages that run on the host (no model) take, in proportion to what they process: frames × pixels
/// for animating stills, joining the shots and muxing (each writes or re-encodes every frame), and seconds of audio
/// for the mix and the mux's audio. So `kinora plan` of a longer or larger output estimates more time.
///
/// Measured with the release binary (`swift build -c release`) rendering `examples/demo.yaml` (256×144 at 24 fps,
/// 216 frames, 9 s; h264 at crf 20) and the same workflow at 1024×576 with 6 s shots (432 frames, 18 s), on the
/// development machine: 2 cores of an AMD EPYC VM, lavapipe as the Vulkan device (host stages use only the CPU).
/// Stage seconds from the render reports, demo / larger:
/// - animate (three shots together): 0.49 s for 7.96 Mpx / 16.0 s for 254.8 Mpx: 16 Mpx/s both times.
/// - video/encode (FFV1 decode and re-encode of every frame): 0.90 s / 20.6 s: 12.5 Mpx/s plus 0.27 s (left out).
/// - audio/mix (two voice lines and a music bed): 0.38 s for 9 s / 0.69 s for 18 s: about 25 s of audio per s.
/// - output/mux (FFV1 decode, h264 encode, AAC): 1.04 s / 17.8 s: 15 Mpx/s plus 0.057 s per second of output.
/// A faster machine or another codec or preset changes them; phonemizing a line (0.01 s) and loading the music
/// (0.03 s) are not counted.
public enum HostStageTimes {
    /// Output pixels the still animator makes and writes per second.
    static let animatePixelsPerSecond = 16e6
    /// Pixels per second the join of the shots decodes and re-encodes.
    static let joinPixelsPerSecond = 12.5e6
    /// Pixels per second the mux decodes and encodes in the output's codec.
    static let muxPixelsPerSecond = 15e6
    /// Seconds of the mux per second of output, for its audio (and fixed costs).
    static let muxSecondsPerAudioSecond = 0.057
    /// Seconds of timeline the mixer places, ducks and loudness-normalises per second.
    static let mixAudioSecondsPerSecond = 25.0

    /// The estimated seconds of `stage`, a stage of `graph`, when it runs on the host; 0 for a model's stages and
    /// for the host stages too quick to count.
    public static func estimatedSeconds(for stage: Stage, in graph: StageGraph) -> Double {
        switch stage.kind {
        case .animate, .conform:
            return pixels(stage, frames: stage.parameters.int("frames") ?? stage.steps) / animatePixelsPerSecond
        case .encodeVideo:
            return pixels(stage, frames: stage.steps) / joinPixelsPerSecond
        case .mix:
            return (stage.parameters.number("duration") ?? 0) / mixAudioSecondsPerSecond
        case .mux:
            let video = stage.inputs.compactMap(graph.stage).first { $0.kind == .encodeVideo }
            return (video.map { pixels($0, frames: $0.steps) } ?? 0) / muxPixelsPerSecond
                + (stage.parameters.number("duration") ?? 0) * muxSecondsPerAudioSecond
        case .encodeText, .denoise, .decode, .encodeImage, .upscale, .interpolate, .speak, .generateMusic, .phonemize,
             .loadAudio:
            return 0
        }
    }

    /// `frames` of the stage's `width` × `height`.
    private static func pixels(_ stage: Stage, frames: Int) -> Double {
        Double(frames) * Double(stage.parameters.int("width") ?? 0) * Double(stage.parameters.int("height") ?? 0)
    }
}
