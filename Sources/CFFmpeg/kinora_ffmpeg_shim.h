// FFmpeg headers for Swift, plus the macros Swift cannot import, re-exported as prefixed static inline functions.
#ifndef KINORA_FFMPEG_SHIM_H
#define KINORA_FFMPEG_SHIM_H

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/cpu.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/mathematics.h>
#include <libavutil/opt.h>
#include <libavutil/crc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

/// `AVERROR(e)`: a POSIX errno value as an FFmpeg error code.
static inline int kinora_AVERROR(int posixError) { return AVERROR(posixError); }

/// `AVERROR_EOF`: end of stream.
static inline int kinora_AVERROR_EOF(void) { return AVERROR_EOF; }

/// `AVERROR(EAGAIN)`: the codec wants more input, or output must be drained first.
static inline int kinora_AVERROR_EAGAIN(void) { return AVERROR(EAGAIN); }

/// `AV_NOPTS_VALUE`: the timestamp is unknown.
static inline int64_t kinora_AV_NOPTS_VALUE(void) { return AV_NOPTS_VALUE; }

/// `AV_TIME_BASE`: the internal time base of libavformat (microseconds).
static inline int kinora_AV_TIME_BASE(void) { return AV_TIME_BASE; }

/// The text for an FFmpeg error code (what `av_err2str` gives in C), written into `buffer`.
static inline const char *kinora_av_err2str(int code, char *buffer, size_t size) {
    return av_make_error_string(buffer, size, code);
}

/// The instruction sets libx264 detects on this CPU, less AVX-512, as x264's `asm` option takes them (a number of
/// `X264_CPU_*` flags), in `flags`. Returns 0, leaving `flags` alone, when the CPU has no AVX-512 or the libx264 that
/// libavcodec loaded is not found. The AVX-512 flag is found by name in x264's own table (`AVX512` less `AVX2`), not
/// taken from a header of another build.
static inline int kinora_x264_cpu_flags_without_avx512(uint32_t *flags) {
    typedef struct { const char *name; uint32_t flags; } CPUName;
    uint32_t (*detect)(void) = (uint32_t (*)(void))dlsym(RTLD_DEFAULT, "x264_cpu_detect");
    const CPUName *names = (const CPUName *)dlsym(RTLD_DEFAULT, "x264_cpu_names");
    if (!detect || !names) return 0;
    uint32_t avx2 = 0, avx512 = 0;
    for (int i = 0; names[i].flags; i++) {
        if (!strcmp(names[i].name, "AVX2")) avx2 = names[i].flags;
        if (!strcmp(names[i].name, "AVX512")) avx512 = names[i].flags;
    }
    uint32_t avx512Only = avx512 & ~avx2;
    uint32_t detected = detect();
    if (!avx512Only || !(detected & avx512Only)) return 0;
    *flags = detected & ~avx512Only;
    return 1;
}

#endif
