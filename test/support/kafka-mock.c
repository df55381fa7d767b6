/*
 * A Kafka-protocol broker for tests: librdkafka's built-in mock cluster.
 * Prints "bootstrap <host:port>" once the cluster listens, then obeys commands on stdin:
 *   down                  disconnect the brokers and refuse new connections
 *   up                    accept connections again (same address)
 *   produce-errors N CODE the next N Produce requests fail with Kafka error CODE
 *   quit                  exit
 * Build: gcc kafka-mock.c -o kafka-mock -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "conf: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers > 0 ? brokers : 1);
  if (!mc) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[256];
  while (fgets(line, sizeof(line), stdin)) {
    int count = 0, code = 0;
    if (strncmp(line, "down", 4) == 0) {
      rd_kafka_mock_broker_set_down(mc, -1);
      printf("ok down\n");
    } else if (strncmp(line, "up", 2) == 0) {
      rd_kafka_mock_broker_set_up(mc, -1);
      printf("ok up\n");
    } else if (sscanf(line, "produce-errors %d %d", &count, &code) == 2) {
      rd_kafka_resp_err_t errors[64];
      if (count > 64) count = 64;
      for (int i = 0; i < count; i++) errors[i] = (rd_kafka_resp_err_t)code;
      rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */, (size_t)count, errors);
      printf("ok produce-errors\n");
    } else if (strncmp(line, "quit", 4) == 0) {
      break;
    } else {
      printf("error unknown command\n");
    }
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
