import CFFmpeg

/// The instruction sets libx264 is allowed. Its AVX-512 mb-tree propagation (libx264 0.164) works on eight
/// macroblocks at a time and reads past the end of a row whose macroblock count is not a multiple of 8 (a width that
/// is not a multiple of 128 pixels); the uninitialised memory it reads there shifts its rate decisions, so the same
/// frames encode to other bytes from one run to the next. Every other instruction set the CPU has is kept: where
/// that read cannot happen, the output is the same as with AVX-512.
enum X264InstructionSets {
    /// x264's `asm` parameter with AVX-512 left out, or nil when the CPU has none (or libx264 is not found).
    static let withoutAVX512: String? = {
        var flags: UInt32 = 0
        return kinora_x264_cpu_flags_without_avx512(&flags) != 0 ? "asm=\(flags)" : nil
    }()
}
