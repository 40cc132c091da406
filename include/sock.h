/*
 * Socket set-up shared by the UDP and TCP listeners and the TCP health
 * checks: addresses in the project's form (family + 16 bytes in network
 * order, an IPv4 address in the first 4) made into a sockaddr, and a
 * non-blocking, close-on-exec socket with the options every listener
 * wants.
 */
#ifndef AHD_SOCK_H
#define AHD_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Fill ss with addr:port of family AF_INET or AF_INET6. Returns the
 * length to pass to bind/connect, or 0 with errno EAFNOSUPPORT for any
 * other family.
 */
socklen_t sock_addr(struct sockaddr_storage *ss, int family, const uint8_t addr[16],
		    uint16_t port);

/* True if addr (4 bytes for AF_INET, else 16) is the wildcard address. */
bool sock_addr_is_any(int family, const uint8_t addr[16]);

/*
 * A listening socket's start: socket(family, type) non-blocking and
 * close-on-exec, SO_REUSEPORT when reuseport, and IPV6_V6ONLY for
 * AF_INET6 (an IPv6 socket serves IPv6: the IPv4 addresses have their
 * own socket, no mapped addresses). Returns the fd, or -1 with errno.
 */
int sock_listener(int family, int type, bool reuseport);

/* Bind fd to addr:port of family; on failure close fd, keep errno and
 * return -1 (EAFNOSUPPORT for a family other than AF_INET/AF_INET6). */
int sock_bind(int fd, int family, const uint8_t addr[16], uint16_t port);

/* Close fd keeping errno (the reason the set-up failed); returns -1. */
int sock_fail(int fd);

#endif
