#include "sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

socklen_t sock_addr(struct sockaddr_storage *ss, int family, const uint8_t addr[16],
		    uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		return sizeof(*sin);
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		return sizeof(*sin6);
	}
	errno = EAFNOSUPPORT;
	return 0;
}

bool sock_addr_is_any(int family, const uint8_t addr[16])
{
	size_t len = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < len; i++) {
		if (addr[i] != 0)
			return false;
	}
	return true;
}

int sock_listener(int family, int type, bool reuseport)
{
	int one = 1;
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return sock_fail(fd);
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return sock_fail(fd);
	return fd;
}

int sock_bind(int fd, int family, const uint8_t addr[16], uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sock_addr(&ss, family, addr, port);

	if (sl == 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0)
		return sock_fail(fd);
	return 0;
}

int sock_fail(int fd)
{
	int err = errno;

	close(fd);
	errno = err;
	return -1;
}
