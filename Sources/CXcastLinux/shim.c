#define _GNU_SOURCE
#include "cxcast.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define XC_MAX 1024

int xc_sendmmsg(int fd, struct xc_msg *msgs, unsigned int count) {
    struct mmsghdr h[XC_MAX];
    static __thread union { char buf[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } control[XC_MAX];
    if (count > XC_MAX) count = XC_MAX;
    memset(h, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        h[i].msg_hdr.msg_name = msgs[i].name;
        h[i].msg_hdr.msg_namelen = msgs[i].namelen;
        h[i].msg_hdr.msg_iov = msgs[i].iov;
        h[i].msg_hdr.msg_iovlen = msgs[i].iovlen;
        if (msgs[i].gso_size > 0) {
            h[i].msg_hdr.msg_control = control[i].buf;
            h[i].msg_hdr.msg_controllen = sizeof(control[i].buf);
            struct cmsghdr *c = CMSG_FIRSTHDR(&h[i].msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            memcpy(CMSG_DATA(c), &msgs[i].gso_size, sizeof(uint16_t));
        }
    }
    int n;
    do { n = sendmmsg(fd, h, count, 0); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) msgs[i].len = h[i].msg_len;
    return n;
}

int xc_recvmmsg(int fd, struct xc_msg *msgs, unsigned int count, int timeout_ms) {
    struct mmsghdr h[XC_MAX];
    if (count > XC_MAX) count = XC_MAX;
    if (timeout_ms >= 0) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, timeout_ms);
        if (r <= 0) return r;   /* 0: timeout; -1: error (EINTR included) */
    }
    memset(h, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        h[i].msg_hdr.msg_name = msgs[i].name;
        h[i].msg_hdr.msg_namelen = msgs[i].namelen;
        h[i].msg_hdr.msg_iov = msgs[i].iov;
        h[i].msg_hdr.msg_iovlen = msgs[i].iovlen;
    }
    int n = recvmmsg(fd, h, count, MSG_WAITFORONE, NULL);
    for (int i = 0; i < n; i++) { msgs[i].len = h[i].msg_len; msgs[i].namelen = h[i].msg_hdr.msg_namelen; }
    return n;
}
