#ifndef CXCAST_H
#define CXCAST_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/// One datagram for xc_sendmmsg / xc_recvmmsg: the glibc `struct mmsghdr` needs _GNU_SOURCE,
/// which Swift's Glibc module does not define, so the shim converts.
struct xc_msg {
    void *name;            /* struct sockaddr_in6 *, or NULL */
    uint32_t namelen;      /* in: size of *name; out (recv): address length */
    struct iovec *iov;
    size_t iovlen;
    uint32_t len;          /* out: octets sent / received */
    uint16_t gso_size;     /* send: > 0 ⇒ UDP GSO (UDP_SEGMENT): the kernel cuts the data into datagrams of this size */
};

/// sendmmsg(2) over up to 1024 messages; returns messages sent or -1 (errno set).
int xc_sendmmsg(int fd, struct xc_msg *msgs, unsigned int count);
/// recvmmsg(2) with MSG_WAITFORONE; returns messages received or -1 (errno set).
int xc_recvmmsg(int fd, struct xc_msg *msgs, unsigned int count, int timeout_ms);

#endif
