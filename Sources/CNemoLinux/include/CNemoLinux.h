#ifndef CNEMOLINUX_H
#define CNEMOLINUX_H

#include <sys/socket.h>
#include <linux/netlink.h>

/// Opens /dev/net/tun and attaches it to a TUN interface (no packet information header).
/// `name` is the wanted name (may be empty); the kernel's choice is copied to `actual`
/// (at least 16 bytes). Returns the file descriptor, or -1 with errno set.
int nemo_tun_open(const char *name, char *actual);

#endif
