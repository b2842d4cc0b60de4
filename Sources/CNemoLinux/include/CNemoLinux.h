#ifndef CNEMOLINUX_H
#define CNEMOLINUX_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/netlink.h>

/// Opens /dev/net/tun and attaches it to a TUN interface (no packet information header).
/// `name` is the wanted name (may be empty); the kernel's choice is copied to `actual`
/// (at least 16 bytes). With `virtio_header` non-zero every read and write starts with a
/// 10-byte `virtio_net_hdr` (IFF_VNET_HDR). Returns the file descriptor, or -1 with errno set.
int nemo_tun_open(const char *name, char *actual, int virtio_header);

/// TUNSETOFFLOAD: which offloads (NEMO_TUN_F_*) the reader accepts. 0 or -1 with errno.
int nemo_tun_set_offload(int fd, unsigned int offloads);

#define NEMO_TUN_F_CSUM 0x01
#define NEMO_TUN_F_TSO4 0x02
#define NEMO_TUN_F_TSO6 0x04

/// Asks the kernel to hand several datagrams of one flow in one receive (UDP_GRO). 0 or -1.
int nemo_udp_enable_gro(int fd);

/// One sendmsg of `iovcnt` buffers forming `total / segment` datagrams of `segment` octets
/// (the last may be shorter) with a UDP_SEGMENT control message; `segment` 0 sends one datagram.
/// Returns the octets sent or -1 with errno.
ssize_t nemo_udp_send_segments(int fd, const void *address, socklen_t address_length,
                               const struct iovec *iov, int iovcnt, uint16_t segment);

/// One recvmsg; `*segment` gets the UDP_GRO segment size (0 when the buffer holds one datagram).
/// Returns the octets received or -1 with errno.
ssize_t nemo_udp_receive_coalesced(int fd, void *buffer, size_t length, void *address,
                                   socklen_t *address_length, int *segment, int flags);

/// Returns freed heap memory to the system (glibc malloc_trim(0)); 1 when some was released.
int nemo_malloc_trim(void);

#endif
