// FFmpeg headers for Swift, plus the macros Swift cannot import, re-exported as prefixed static inline functions.
#ifndef KINORA_FFMPEG_SHIM_H
#define KINORA_FFMPEG_SHIM_H

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
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

#endif
