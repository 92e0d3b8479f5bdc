// libebur128 (EBU R 128 loudness and true-peak measurement) for Swift.
#ifndef KINORA_EBUR128_SHIM_H
#define KINORA_EBUR128_SHIM_H

#include <ebur128.h>

#endif
