// libespeak-ng for Swift: the text-to-phoneme calls Piper's front end uses.
#ifndef KINORA_ESPEAK_SHIM_H
#define KINORA_ESPEAK_SHIM_H

#include <espeak-ng/speak_lib.h>

#endif
