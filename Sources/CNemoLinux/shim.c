#include <malloc.h>
#include "CNemoLinux.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

// ioctl is variadic and control messages are macro-built, which Swift cannot do; these
// wrappers are the only reason for C here.
int nemo_tun_open(const char *name, char *actual, int virtio_header) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (virtio_header ? IFF_VNET_HDR : 0);
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

int nemo_tun_set_offload(int fd, unsigned int offloads) {
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads);
}

int nemo_udp_enable_gro(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one);
}

ssize_t nemo_udp_send_segments(int fd, const void *address, socklen_t address_length,
                               const struct iovec *iov, int iovcnt, uint16_t segment) {
    char control[CMSG_SPACE(sizeof(uint16_t))];
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = (void *)address;
    msg.msg_namelen = address_length;
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = iovcnt;
    if (segment) {
        memset(control, 0, sizeof control);
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
    return sendmsg(fd, &msg, 0);
}

ssize_t nemo_udp_receive_coalesced(int fd, void *buffer, size_t length, void *address,
                                   socklen_t *address_length, int *segment, int flags) {
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buffer, length};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = address;
    msg.msg_namelen = *address_length;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, flags);
    *segment = 0;
    if (n < 0) return n;
    *address_length = msg.msg_namelen;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
            int size;
            memcpy(&size, CMSG_DATA(c), sizeof size);
            *segment = size;
        }
    }
    return n;
}

int nemo_malloc_trim(void) {
    return malloc_trim(0);
}
