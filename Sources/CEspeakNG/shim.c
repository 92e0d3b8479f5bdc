// Run-time loading of libespeak-ng, declared in CEspeakNG.h.
#include "CEspeakNG.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

const char *kespeak_load(KespeakFunctions *functions) {
    void *library = NULL;
    // KINORA_ESPEAK_LIBRARY names a specific library (tests use it to simulate a machine without espeak-ng).
    const char *override = getenv("KINORA_ESPEAK_LIBRARY");
    if (override != NULL && override[0] != '\0') {
        library = dlopen(override, RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) return "the libespeak-ng named by KINORA_ESPEAK_LIBRARY could not be opened";
    }
    const char *names[] = {"libespeak-ng.so.1", "libespeak-ng.so", "libespeak-ng.1.dylib"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && library == NULL; i++) {
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (library == NULL) return "libespeak-ng.so.1 was not found";
    functions->initialize = (int (*)(espeak_AUDIO_OUTPUT, int, const char *, int))dlsym(library, "espeak_Initialize");
    functions->set_voice_by_name = (espeak_ERROR(*)(const char *))dlsym(library, "espeak_SetVoiceByName");
    functions->text_to_phonemes =
        (const char *(*)(const void **, int, int))dlsym(library, "espeak_TextToPhonemes");
    if (functions->initialize == NULL || functions->set_voice_by_name == NULL || functions->text_to_phonemes == NULL) {
        dlclose(library);
        return "libespeak-ng lacks espeak_Initialize, espeak_SetVoiceByName or espeak_TextToPhonemes";
    }
    return NULL;
}
