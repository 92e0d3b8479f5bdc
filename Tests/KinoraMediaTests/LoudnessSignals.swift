import Foundation

@testable import KinoraMedia

/// Deterministic test programmes for loudness normalisation: speech-like bursts, a music bed, noise and clicks.
enum LoudnessSignals {
    /// SplitMix64: the same numbers on every platform and run.
    struct Random {
        private var state: UInt64

        init(seed: UInt64) {
            state = seed
        }

        /// Uniform in [0, 1).
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }

        mutating func uniform(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + (range.upperBound - range.lowerBound) * next()
        }

        /// Standard normal (Box–Muller).
        mutating func gaussian() -> Double {
            let u = max(next(), 1e-12)
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * next())
        }
    }

    /// Speech-like mono audio: voiced syllables (a gliding harmonic series under a vowel-like envelope, loudness
    /// varying word to word), short plosive noise bursts and pauses, scaled to `peak` sample peak. Its crest factor
    /// (sample peak over RMS) is about 15–20 dB, as with real speech.
    static func voice(seconds: Double, peak: Float = 0.5, sampleRate: Int = 48000, seed: UInt64 = 1) throws
        -> AudioBuffer
    {
        var random = Random(seed: seed)
        let frames = Int(seconds * Double(sampleRate))
        let rate = Double(sampleRate)
        var samples = [Float](repeating: 0, count: frames)
        var position = Int(0.2 * rate)
        while position < frames {
            let syllables = Int(random.uniform(2...5))
            let word = random.uniform(0.3...1)
            for _ in 0..<syllables {
                let length = Int(random.uniform(0.08...0.25) * rate)
                let level = word * random.uniform(0.4...1)
                let pitch = random.uniform(110...190)
                let glide = random.uniform(-0.3...0.3)
                var phase = 0.0
                for index in 0..<length where position + index < frames {
                    let t = Double(index) / Double(length)
                    // A vowel: fast onset, sustain that sags a little, short release.
                    let onset = min(1, Double(index) / (0.015 * rate))
                    let release = min(1, Double(length - index) / (0.04 * rate))
                    let envelope = onset * release * (1 - 0.3 * t)
                    phase += 2 * Double.pi * pitch * (1 + glide * t) / rate
                    var value = 0.0
                    for harmonic in 1...12 {
                        let formant = harmonic >= 3 && harmonic <= 5 ? 2.0 : 1.0
                        value += formant * sin(Double(harmonic) * phase) / Double(harmonic)
                    }
                    samples[position + index] += Float(level * envelope * value)
                }
                if random.next() < 0.3 {
                    let burst = Int(0.012 * rate)
                    for index in 0..<burst where position + index < frames {
                        let decay = exp(-Double(index) / (0.003 * rate))
                        samples[position + index] += Float(level * 0.6 * decay * random.gaussian())
                    }
                }
                position += length + Int(random.uniform(0.01...0.05) * rate)
            }
            position += Int(random.uniform(0.1...0.4) * rate)
        }
        return try scaled(AudioBuffer(sampleRate: sampleRate, channels: 1, samples: samples), toPeak: peak)
    }

    /// A quiet, steady music bed: a sustained minor chord with slow tremolo and a little noise.
    static func musicBed(seconds: Double, peak: Float = 0.1, sampleRate: Int = 48000, seed: UInt64 = 2) throws
        -> AudioBuffer
    {
        var random = Random(seed: seed)
        let frames = Int(seconds * Double(sampleRate))
        let rate = Double(sampleRate)
        let chord = [110.0, 130.81, 164.81, 220.0, 329.63]
        let samples = (0..<frames).map { frame -> Float in
            let t = Double(frame) / rate
            let tremolo = 0.8 + 0.2 * sin(2 * Double.pi * 0.5 * t)
            let tone = chord.reduce(0.0) { $0 + sin(2 * Double.pi * $1 * t) }
            return Float(tremolo * tone + 0.05 * random.gaussian())
        }
        return try scaled(AudioBuffer(sampleRate: sampleRate, channels: 1, samples: samples), toPeak: peak)
    }

    /// Gaussian white noise with the given RMS.
    static func whiteNoise(seconds: Double, rms: Float, sampleRate: Int = 48000, seed: UInt64 = 3) throws
        -> AudioBuffer
    {
        var random = Random(seed: seed)
        let samples = (0..<Int(seconds * Double(sampleRate))).map { _ in rms * Float(random.gaussian()) }
        return try AudioBuffer(sampleRate: sampleRate, channels: 1, samples: samples)
    }

    /// Single-sample clicks at `peak` every half second over near-silence: a crest factor no limiter can bring to a
    /// broadcast loudness without destroying it.
    static func clicks(seconds: Double, peak: Float = 0.5, sampleRate: Int = 48000, seed: UInt64 = 4) throws
        -> AudioBuffer
    {
        var random = Random(seed: seed)
        var samples = (0..<Int(seconds * Double(sampleRate))).map { _ in 0.001 * Float(random.gaussian()) }
        for index in stride(from: sampleRate / 4, to: samples.count, by: sampleRate / 2) { samples[index] = peak }
        return try AudioBuffer(sampleRate: sampleRate, channels: 1, samples: samples)
    }

    /// Sum of buffers of one format, cut to the shortest.
    static func sum(_ buffers: AudioBuffer...) throws -> AudioBuffer {
        let count = buffers.map(\.samples.count).min() ?? 0
        let samples = (0..<count).map { index in buffers.reduce(Float(0)) { $0 + $1.samples[index] } }
        return try AudioBuffer(sampleRate: buffers[0].sampleRate, channels: buffers[0].channels, samples: samples)
    }

    /// Sample peak over RMS, in dB.
    static func crestFactor(_ buffer: AudioBuffer) -> Double {
        let meanSquare = buffer.samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(buffer.samples.count)
        return 20 * log10(Double(buffer.peak)) - 10 * log10(meanSquare)
    }

    private static func scaled(_ buffer: AudioBuffer, toPeak peak: Float) -> AudioBuffer {
        var copy = buffer
        let factor = peak / max(buffer.peak, .leastNormalMagnitude)
        for index in copy.samples.indices { copy.samples[index] *= factor }
        return copy
    }
}
