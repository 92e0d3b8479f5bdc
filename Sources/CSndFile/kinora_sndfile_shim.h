// libsndfile for Swift. Its format and command constants are C enums, which Swift imports as they are.
#ifndef KINORA_SNDFILE_SHIM_H
#define KINORA_SNDFILE_SHIM_H

#include <sndfile.h>

#endif
