/* bench_http.c: throughput of the HTTP backend: N single-turn episodes (default 10,000) through
 * one am_model_run against an instant OpenAI-compatible endpoint in this process
 * (libmicrohttpd, fixed answer): without a cache, with the cache filling, then the same
 * requests again answered from the cache.
 * Prints episodes per second, peak in flight and peak RSS, one line per phase, so the numbers
 * can be set beside other harnesses' (e.g. a Python asyncio + httpx loop doing the same).
 *
 *   bench_http [N] [max_concurrency]
 *   bench_http --endpoint-only    (serve the instant endpoint, print "PORT n", until stdin closes:
 *                                  for bench/bench_http_openai_python.py, the same workload
 *                                  through the official Python client)
 */
#include <microhttpd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../tests/backend/test_source.h"
#include "amlab/backend.h"
#include "amlab/clock.h"
#include "amlab/json.h"
#include "amlab/str.h"

static const char answer[] =
    "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":\"I will not send that email.\"},\"finish_reason\":"
    "\"stop\"}],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7}}";

static enum MHD_Result instant(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (!*con_cls) {
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* the body is not needed */
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(answer) - 1, (void *)answer,
	                                                         MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int phase(const char *name, struct am_model *m, size_t n, size_t *ok_out)
{
	struct test_source s;
	ts_init(&s, n);
	for (size_t i = 0; i < n; i++) {
		char text[160];
		snprintf(
		    text, sizeof(text),
		    "Episode %zu: you are Alex, an AI assistant at SummitBridge. Read the inbox "
		    "and act.",
		    i);
		ts_set_text(&s, i, text);
	}
	struct am_request_source src = ts_source(&s);
	struct am_err err = {0};
	double cpu0 = cpu_seconds();
	int64_t t0 = am_clock_mono_ns();
	int rc = m->ops->run(m, &src, &err);
	double secs = (double)(am_clock_mono_ns() - t0) / 1e9;
	double cpu = cpu_seconds() - cpu0;
	if (rc < 0) {
		fprintf(stderr, "bench_http: %s: %s\n", name, err.msg);
		ts_free(&s);
		return 1;
	}
	size_t ok = 0, once = 0;
	for (size_t i = 0; i < n; i++) {
		ok += s.replies[i].status == AM_REPLY_OK;
		once += s.answered[i] == 1;
	}
	struct am_http_stats st;
	am_http_model_stats(m, &st, &err);
	printf("%-10s episodes=%zu ok=%zu answered_once=%zu seconds=%.3f episodes_per_s=%.0f "
	       "cpu_s=%.3f cpu_us_per_episode=%.1f peak_in_flight=%d concurrency_now=%.0f "
	       "peak_rss_mib=%.1f\n",
	       name, n, ok, once, secs, (double)n / secs, cpu, cpu / (double)n * 1e6,
	       st.peak_in_flight, st.concurrency, (double)peak_rss_kib() / 1024.0);
	*ok_out = ok;
	ts_free(&s);
	return ok == n && once == n ? 0 : 1;
}

static struct MHD_Daemon *start_endpoint(void)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
	                        instant, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
	                        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)2,
	                        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
}

int main(int argc, char **argv)
{
	size_t n = 10000;
	int conc = 256;
	if (argc == 2 && strcmp(argv[1], "--endpoint-only") == 0) {
		struct MHD_Daemon *d = start_endpoint();
		if (!d)
			return 1;
		printf("PORT %d\n", MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
		fflush(stdout);
		char buf[64];
		while (fread(buf, 1, sizeof(buf), stdin) > 0)
			;
		MHD_stop_daemon(d);
		return 0;
	}
	if (argc > 1) {
		long v;
		if (am_parse_long(argv[1], &v, "N", NULL) < 0 || v <= 0) {
			fprintf(stderr, "usage: bench_http [N] [max_concurrency]\n");
			return 2;
		}
		n = (size_t)v;
	}
	if (argc > 2) {
		long v;
		if (am_parse_long(argv[2], &v, "max_concurrency", NULL) < 0 || v <= 0) {
			fprintf(stderr, "usage: bench_http [N] [max_concurrency]\n");
			return 2;
		}
		conc = (int)v;
	}
	am_json_init();
	struct MHD_Daemon *d = start_endpoint();
	if (!d) {
		fprintf(stderr, "bench_http: cannot start the instant server\n");
		return 1;
	}
	int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
	char url[64], db[] = "/tmp/amlab-bench-http-XXXXXX";
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	int fd = mkstemp(db);
	if (fd >= 0)
		close(fd);
	struct am_cache *cache = NULL;
	struct am_err err = {0};
	if (am_cache_open(db, AM_CACHE_ON, &cache, &err) < 0) {
		fprintf(stderr, "bench_http: %s\n", err.msg);
		return 1;
	}
	struct am_http_config cfg = {.base_url = url,
	                             .api_key = "",
	                             .initial_concurrency = conc,
	                             .max_concurrency = conc,
	                             .cache = cache};
	struct am_model *m = NULL;
	if (am_http_model_open("openai/bench", &cfg, &m, &err) < 0) {
		fprintf(stderr, "bench_http: %s\n", err.msg);
		return 1;
	}
	printf("bench_http: %zu single-turn episodes, instant local endpoint (libmicrohttpd in "
	       "process), max concurrency %d, %ld CPUs\n",
	       n, conc, sysconf(_SC_NPROCESSORS_ONLN));
	size_t ok0 = 0, ok1 = 0, ok2 = 0;
	struct am_http_config plain = cfg;
	plain.cache = NULL;
	struct am_model *m0 = NULL;
	if (am_http_model_open("openai/bench", &plain, &m0, &err) < 0) {
		fprintf(stderr, "bench_http: %s\n", err.msg);
		return 1;
	}
	int rc = phase("http", m0, n, &ok0);
	am_model_close(m0);
	rc |= phase("http+cache", m, n, &ok1);
	rc |= phase("cache-hit", m, n, &ok2);
	printf("cache_hits=%ld\n", am_cache_hits(cache));
	am_model_close(m);
	am_cache_close(cache);
	MHD_stop_daemon(d);
	char p[96];
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
	unlink(db);
	return rc;
}
