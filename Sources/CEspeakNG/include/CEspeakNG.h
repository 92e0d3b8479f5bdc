// libespeak-ng for Swift, loaded with dlopen at first use (as CVulkan loads libvulkan): a binary that links Piper's
// front end but never speaks, such as kinora-gpu-check, runs on a machine without espeak-ng.
#ifndef KINORA_ESPEAK_NG_H
#define KINORA_ESPEAK_NG_H

#include <espeak-ng/speak_lib.h>

/// The text-to-phoneme calls Piper's front end makes, resolved from the library.
typedef struct {
    int (*initialize)(espeak_AUDIO_OUTPUT output, int buffer_length, const char *path, int options);
    espeak_ERROR (*set_voice_by_name)(const char *name);
    const char *(*text_to_phonemes)(const void **text, int text_mode, int phoneme_mode);
} KespeakFunctions;

/// Opens libespeak-ng (KINORA_ESPEAK_LIBRARY names another file) and fills `functions`. Returns NULL on success,
/// else a message saying what is missing.
const char *kespeak_load(KespeakFunctions *functions);

#endif
