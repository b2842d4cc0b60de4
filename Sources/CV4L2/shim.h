#ifndef NAUTILUS_CV4L2_SHIM_H
#define NAUTILUS_CV4L2_SHIM_H
// libv4l2 (Debian libv4l-dev) and the kernel's V4L2 structures.
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <linux/videodev2.h>
#include <libv4l2.h>

// Swift cannot call C variadic functions nor import the _IOWR request
// macros, so the calls and request numbers the capture code uses are
// restated here with fixed signatures.
static inline int nautilus_v4l2_open(const char *path, int flags) {
    return v4l2_open(path, flags);
}
static inline int nautilus_v4l2_ioctl(int fd, unsigned long request, void *arg) {
    return v4l2_ioctl(fd, request, arg);
}
static inline int nautilus_errno(void) { return errno; }

static const unsigned long NAUTILUS_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long NAUTILUS_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long NAUTILUS_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long NAUTILUS_VIDIOC_G_FMT = VIDIOC_G_FMT;
static const unsigned long NAUTILUS_VIDIOC_S_FMT = VIDIOC_S_FMT;
static const unsigned long NAUTILUS_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
static const unsigned long NAUTILUS_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
static const unsigned long NAUTILUS_VIDIOC_QBUF = VIDIOC_QBUF;
static const unsigned long NAUTILUS_VIDIOC_DQBUF = VIDIOC_DQBUF;
static const unsigned long NAUTILUS_VIDIOC_STREAMON = VIDIOC_STREAMON;
static const unsigned long NAUTILUS_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;
static const unsigned long NAUTILUS_VIDIOC_S_PARM = VIDIOC_S_PARM;

static const uint32_t NAUTILUS_PIX_FMT_MJPEG = V4L2_PIX_FMT_MJPEG;
static const uint32_t NAUTILUS_PIX_FMT_JPEG = V4L2_PIX_FMT_JPEG;
static const uint32_t NAUTILUS_PIX_FMT_YUYV = V4L2_PIX_FMT_YUYV;
#endif
