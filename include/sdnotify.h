/*
 * Telling the service manager how the server is doing: the sd_notify(3)
 * datagram protocol (READY=1, RELOADING=1, STOPPING=1, STATUS=...).
 * Named apart from DNS NOTIFY (RFC 1996), which is another thing.
 */
#ifndef AHD_SDNOTIFY_H
#define AHD_SDNOTIFY_H

/* Send state to $NOTIFY_SOCKET. Returns 1 if sent, 0 if there is no
 * service manager to tell (no or an unusable $NOTIFY_SOCKET), -1 if the
 * send failed. */
int sdnotify_send(const char *state);

#endif
