#ifndef NAUTILUS_CTURBOJPEG_SHIM_H
#define NAUTILUS_CTURBOJPEG_SHIM_H
// libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev, 2.1).
#include <stddef.h>
#include <turbojpeg.h>
#endif
