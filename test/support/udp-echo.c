/* Answers every UDP datagram on the port given as its argument with the same bytes: a UDP
 * server for tests (busybox has none). Built static by test/support/udp-echo.ts. */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  int sock = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET;
  address.sin_port = htons(argc > 1 ? atoi(argv[1]) : 5353);
  if (sock < 0 || bind(sock, (struct sockaddr *)&address, sizeof address) < 0) return 1;
  char buffer[2048];
  for (;;) {
    struct sockaddr_in peer;
    socklen_t length = sizeof peer;
    ssize_t received = recvfrom(sock, buffer, sizeof buffer, 0, (struct sockaddr *)&peer, &length);
    if (received >= 0) sendto(sock, buffer, received, 0, (struct sockaddr *)&peer, length);
  }
}
