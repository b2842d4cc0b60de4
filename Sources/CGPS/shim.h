#ifndef NAUTILUS_CGPS_SHIM_H
#define NAUTILUS_CGPS_SHIM_H
// libgps (gpsd 3.22, API major 11) as Debian's libgps-dev ships it.
#include <gps.h>
#include <errno.h>

// errno after a failed gps_open holds libgps's negative netlib code;
// Swift reads errno through this so the code survives the Swift runtime.
static inline int nautilus_gps_errno(void) { return errno; }
#endif
