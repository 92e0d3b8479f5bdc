import Foundation

/// The σ schedules of the flow-matching samplers, where x_σ = (1 − σ)·x₀ + σ·ε runs from noise at σ = 1 to data at
/// σ = 0: the timestep shift and the terminal stretch, in the float64 (NumPy) steps diffusers computes them in.
enum FlowSigmas {
    /// σ' = s·σ / (1 + (s − 1)·σ), evaluated as `shift * sigmas / (1 + (shift - 1) * sigmas)`.
    static func shifted(_ sigmas: [Double], by shift: Double) -> [Double] {
        sigmas.map { shift * $0 / (1 + (shift - 1) * $0) }
    }

    /// `stretch_shift_to_terminal`: rescales 1 − σ so that the last σ becomes `terminal`.
    static func stretched(_ sigmas: [Double], toTerminal terminal: Double) -> [Double] {
        guard let last = sigmas.last else { return sigmas }
        let scale = (1 - last) / (1 - terminal)
        return sigmas.map { 1 - (1 - $0) / scale }
    }

    /// The shifted schedule, stretched when the configuration names a non-zero `shift_terminal` (diffusers tests the
    /// value's truth, so 0 means none).
    static func shiftedAndStretched(_ sigmas: [Double], shift: Double, terminal: Double?) -> [Double] {
        let shifted = shifted(sigmas, by: shift)
        guard let terminal, terminal != 0 else { return shifted }
        return stretched(shifted, toTerminal: terminal)
    }

    /// Checks a shift option: a finite positive number (a zero or negative shift folds the schedule onto itself).
    static func checkedShift(_ shift: Double, option: String, scheduler: String) throws -> Double {
        guard shift.isFinite, shift > 0 else {
            throw SamplerError.invalidOption(scheduler: scheduler, "\(option) must be a positive number, got \(shift)")
        }
        return shift
    }

    /// Checks `shift_terminal`: the last σ must stay in [0, 1) for the stretch to be defined.
    static func checkedTerminal(_ terminal: Double?, scheduler: String) throws -> Double? {
        guard let terminal else { return nil }
        guard terminal >= 0, terminal < 1 else {
            throw SamplerError.invalidOption(scheduler: scheduler, "shift_terminal must be in [0, 1), got \(terminal)")
        }
        return terminal
    }

    /// The flow forward process (1 − σ)·x₀ + σ·ε in float32: UniPC's `add_noise` with α = 1 − σ and
    /// FlowMatchEuler's `scale_noise` (which adds the same two products in the other order).
    static func noised(_ original: [Float], noise: [Float], sigma: Float) -> [Float] {
        let alpha = 1 - sigma
        return original.combined(noise) { x, n in alpha * x + sigma * n }
    }
}
