import Foundation

/// The few-step schedule of the distilled autoregressive Wan models (Self-Forcing's and CausVid's
/// `denoising_step_list`), over the flow-matching table their `FlowMatchScheduler(shift, sigma_min=0,
/// extra_one_step=True)` sets for 1000 training steps: σᵢ = shift·sᵢ / (1 + (shift − 1)·sᵢ) for sᵢ = 1 − i/1000, and
/// timestepᵢ = 1000·σᵢ. With `warp` (Self-Forcing), step k is the table's timestep at index 1000 − listₖ (1000, 937.5,
/// 833.3, 625 for [1000, 750, 500, 250] and shift 5); without, the list's values themselves (CausVid's [1000, 757,
/// 522], shift 8). A timestep's σ is that of the table's nearest timestep, as the models' `_convert_flow_pred_to_x0`
/// and `add_noise` look it up.
public struct CausalDenoisingSchedule: Sendable, Equatable {
    /// The timestep of each denoising step of a chunk.
    public let timesteps: [Float]
    public let shift: Double
    /// The training table: σ and timestep per index, in float32 as the reference keeps them.
    private let tableSigmas: [Float]
    private let tableTimesteps: [Float]

    /// Self-Forcing's `self_forcing_dmd.yaml`: [1000, 750, 500, 250], warped, shift 5.
    public static let selfForcing = try! CausalDenoisingSchedule(stepList: [1000, 750, 500, 250], shift: 5, warp: true)
    /// CausVid's `wan_causal_dmd.yaml`: [1000, 757, 522] (its trailing 0 dropped), not warped, shift 8.
    public static let causVid = try! CausalDenoisingSchedule(stepList: [1000, 757, 522], shift: 8, warp: false)

    /// Throws for an empty list, a shift that is not positive, or a step outside 1...1000.
    public init(stepList: [Int], shift: Double, warp: Bool, trainTimesteps: Int = 1000) throws {
        guard !stepList.isEmpty, shift.isFinite, shift > 0, trainTimesteps > 0 else {
            throw CausalScheduleError.invalid(
                reason: "a step list of \(stepList.count) steps with shift \(shift); give steps and a positive shift")
        }
        if let bad = stepList.first(where: { !(1...trainTimesteps).contains($0) }) {
            throw CausalScheduleError.invalid(reason: "step \(bad) is outside 1...\(trainTimesteps)")
        }
        self.shift = shift
        let sigmas = (0..<trainTimesteps).map { index -> Float in
            let s = Float(1 - Double(index) / Double(trainTimesteps))
            return Float(shift) * s / (1 + Float(shift - 1) * s)
        }
        tableSigmas = sigmas
        tableTimesteps = sigmas.map { $0 * Float(trainTimesteps) }
        let extended = tableTimesteps + [0]
        timesteps = warp ? stepList.map { extended[trainTimesteps - $0] } : stepList.map(Float.init)
    }

    /// σ of the training table's timestep nearest `timestep` (the first of equals).
    public func sigma(_ timestep: Float) -> Double {
        var best = 0
        for index in tableTimesteps.indices
        where abs(tableTimesteps[index] - timestep) < abs(tableTimesteps[best] - timestep) {
            best = index
        }
        return Double(tableSigmas[best])
    }
}

/// Why a causal denoising schedule or loop was refused.
public enum CausalScheduleError: Error, Equatable, CustomStringConvertible {
    case invalid(reason: String)

    public var description: String {
        switch self {
        case .invalid(let reason): return "autoregressive Wan schedule: \(reason)"
        }
    }
}
