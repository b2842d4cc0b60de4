#include "CNemoLinux.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

// ioctl is variadic, which Swift cannot call; this wrapper is the only reason for C here.
int nemo_tun_open(const char *name, char *actual) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (name) strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        close(fd);
        return -1;
    }
    if (actual) {
        memcpy(actual, ifr.ifr_name, IFNAMSIZ);
        actual[IFNAMSIZ - 1] = 0;
    }
    return fd;
}
