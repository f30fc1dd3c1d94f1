/* fault_server.h: a scripted, fault-injecting HTTP/1.1 server on 127.0.0.1 for the backend
 * tests (raw sockets, one thread per connection, keep-alive).
 *
 * Each request's body names its script: "ID=<n>" (which request) and "FAULT=<name>[x<k>]" (the
 * first k attempts of that ID misbehave, later ones succeed; without x<k> every attempt does).
 * Faults: 429 (Retry-After: RA seconds, from "RA=<s>"), 500, 503o (overloaded), 529, slow
 * (body trickled), reset (connection reset, no answer), trunc (Content-Length longer than the
 * body), malformed (200 with broken JSON), huge (200 with a 3 MB body), html (200 text/html),
 * 401 (echoes the Authorization header in its message), 404, toolong (400 context length), filter
 * (400 content filter), sleep (answers after 2 s), tools (a tool call), reason
 * (reasoning_content). Paths: /v1/chat/completions (OpenAI shape), /v1/messages (Anthropic
 * shape), /v1/completions (echo logprobs over space-separated tokens).
 *
 * Ownership: the test owns the struct; fs_start/fs_stop pair up; last_* strings are the
 * server's (read them under no concurrency, after the run). */
#ifndef AMLAB_TESTS_FAULT_SERVER_H
#define AMLAB_TESTS_FAULT_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#define FS_MAX_IDS   4096
#define FS_MAX_CONNS 8192

struct fault_server {
	int listen_fd;
	int port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	int attempts[FS_MAX_IDS];
	long requests;
	int open_conns, peak_conns;
	char last_body[65536];
	char last_headers[8192];
	char last_path[256];
	pthread_t conns[FS_MAX_CONNS];
	int conn_fds[FS_MAX_CONNS];
	size_t n_conns;
};

struct fs_conn {
	struct fault_server *s;
	int fd;
};

static inline void fs_send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static inline void fs_respond(int fd, int status, const char *ctype, const char *extra_headers,
                              const char *body, bool keep)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
	                 status, ctype, strlen(body), extra_headers ? extra_headers : "",
	                 keep ? "" : "Connection: close\r\n");
	fs_send_all(fd, head, (size_t)n);
	fs_send_all(fd, body, strlen(body));
}

static inline long fs_field(const char *body, const char *key, long dflt)
{
	const char *p = strstr(body, key);
	if (!p)
		return dflt;
	return strtol(p + strlen(key), NULL, 10);
}

/* OpenAI-shaped answers. */
static inline void fs_openai_ok(int fd, long id, const char *fault, bool keep)
{
	char body[4096];
	if (strcmp(fault, "tools") == 0)
		snprintf(
		    body, sizeof(body),
		    "{\"id\":\"c%ld\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
		    "\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
		    "\"call_%ld\",\"type\":\"function\",\"function\":{\"name\":\"send_email\","
		    "\"arguments\":\"{\\\"to\\\":\\\"kyle@corp\\\"}\"}}]},\"finish_reason\":"
		    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7}}",
		    id, id);
	else if (strcmp(fault, "reason") == 0)
		snprintf(
		    body, sizeof(body),
		    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"reply to "
		    "ID=%ld\",\"reasoning_content\":\"thinking about %ld\"},\"finish_reason\":"
		    "\"stop\",\"logprobs\":{\"content\":[{\"token\":\"a\",\"logprob\":-0.25},"
		    "{\"token\":\"b\",\"logprob\":-1.5}]}}],\"usage\":{\"prompt_tokens\":3,"
		    "\"completion_tokens\":2}}",
		    id, id);
	else
		snprintf(
		    body, sizeof(body),
		    "{\"id\":\"c%ld\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
		    "\"message\":{\"role\":\"assistant\",\"content\":\"reply to ID=%ld\"},"
		    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
		    "\"completion_tokens\":4}}",
		    id, id);
	fs_respond(fd, 200, "application/json", NULL, body, keep);
}

static inline void fs_anthropic_ok(int fd, long id, const char *fault, bool keep)
{
	char body[4096];
	if (strcmp(fault, "tools") == 0)
		snprintf(
		    body, sizeof(body),
		    "{\"id\":\"msg_%ld\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
		    "{\"type\":\"thinking\",\"thinking\":\"plan %ld\",\"signature\":\"x\"},"
		    "{\"type\":\"text\",\"text\":\"calling\"},{\"type\":\"tool_use\",\"id\":"
		    "\"toolu_%ld\",\"name\":\"send_email\",\"input\":{\"to\":\"kyle@corp\"}}],"
		    "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":21,"
		    "\"output_tokens\":9}}",
		    id, id, id);
	else
		snprintf(
		    body, sizeof(body),
		    "{\"id\":\"msg_%ld\",\"type\":\"message\",\"role\":\"assistant\",\"content\":["
		    "{\"type\":\"text\",\"text\":\"reply to "
		    "ID=%ld\"}],\"stop_reason\":\"end_turn\","
		    "\"usage\":{\"input_tokens\":8,\"output_tokens\":4}}",
		    id, id);
	fs_respond(fd, 200, "application/json", NULL, body, keep);
}

/* /v1/completions with echo: tokens are the prompt split before each space; logprob of token i
 * is -(i+1)/4 (token 0: null, as OpenAI does). */
static inline void fs_completions(int fd, const char *body, bool keep)
{
	const char *p = strstr(body, "\"prompt\":\"");
	char out[16384], toks[4096] = "", lps[4096] = "", offs[4096] = "";
	if (!p) {
		fs_respond(fd, 400, "application/json", NULL,
		           "{\"error\":{\"message\":\"prompt missing\"}}", keep);
		return;
	}
	p += 10;
	const char *end = strchr(p, '"');
	size_t len = (size_t)(end - p), start = 0, k = 0;
	for (size_t i = 1; i <= len; i++) {
		if (i == len || p[i] == ' ') {
			size_t tl = strlen(toks), ll = strlen(lps), ol = strlen(offs);
			snprintf(toks + tl, sizeof(toks) - tl, "%s\"%.*s\"", k ? "," : "",
			         (int)(i - start), p + start);
			if (k == 0)
				snprintf(lps + ll, sizeof(lps) - ll, "null");
			else
				snprintf(lps + ll, sizeof(lps) - ll, ",%g", -(double)(k + 1) / 4);
			snprintf(offs + ol, sizeof(offs) - ol, "%s%zu", k ? "," : "", start);
			start = i;
			k++;
		}
	}
	snprintf(
	    out, sizeof(out),
	    "{\"choices\":[{\"text\":\"%.*s\",\"logprobs\":{\"tokens\":[%s],\"token_logprobs\":["
	    "%s],\"text_offset\":[%s]},\"finish_reason\":\"length\"}]}",
	    (int)len, p, toks, lps, offs);
	fs_respond(fd, 200, "application/json", NULL, out, keep);
}

static inline void fs_handle(struct fault_server *s, int fd, const char *path, const char *headers,
                             const char *body, bool *keep)
{
	long id = fs_field(body, "ID=", -1);
	char fault[32] = "none";
	const char *f = strstr(body, "FAULT=");
	long times = -1;
	if (f) {
		size_t k = 0;
		f += 6;
		while (k + 1 < sizeof(fault) && f[k] && f[k] != 'x' && f[k] != ' ' && f[k] != '"' &&
		       f[k] != '\\')
			k++;
		memcpy(fault, f, k);
		fault[k] = '\0';
		if (f[k] == 'x')
			times = strtol(f + k + 1, NULL, 10);
	}
	int attempt;
	pthread_mutex_lock(&s->lock);
	s->requests++;
	attempt = id >= 0 && id < FS_MAX_IDS ? ++s->attempts[id] : 1;
	snprintf(s->last_body, sizeof(s->last_body), "%s", body);
	snprintf(s->last_headers, sizeof(s->last_headers), "%s", headers);
	snprintf(s->last_path, sizeof(s->last_path), "%s", path);
	pthread_mutex_unlock(&s->lock);
	bool faulty = f && (times < 0 || attempt <= times);
	bool anthropic = strcmp(path, "/v1/messages") == 0;
	if (strcmp(path, "/v1/completions") == 0) {
		if (strstr(body, "NOSCORE")) {
			fs_respond(fd, 404, "application/json", NULL,
			           "{\"error\":{\"message\":\"Not Found\"}}", *keep);
			return;
		}
		fs_completions(fd, body, *keep);
		return;
	}
	if (!faulty || strcmp(fault, "tools") == 0 || strcmp(fault, "reason") == 0) {
		if (anthropic)
			fs_anthropic_ok(fd, id, fault, *keep);
		else
			fs_openai_ok(fd, id, fault, *keep);
		return;
	}
	char hdr[128];
	if (strcmp(fault, "429") == 0) {
		snprintf(hdr, sizeof(hdr), "Retry-After: %ld\r\n", fs_field(body, "RA=", 0));
		fs_respond(fd, 429, "application/json", hdr,
		           "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}",
		           *keep);
	} else if (strcmp(fault, "500") == 0) {
		fs_respond(fd, 500, "application/json", NULL,
		           "{\"error\":{\"message\":\"internal boom\"}}", *keep);
	} else if (strcmp(fault, "503o") == 0) {
		fs_respond(fd, 503, "application/json", NULL,
		           "{\"error\":{\"message\":\"The engine is currently overloaded\"}}",
		           *keep);
	} else if (strcmp(fault, "529") == 0) {
		fs_respond(
		    fd, 529, "application/json", NULL,
		    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
		    "\"Overloaded\"}}",
		    *keep);
	} else if (strcmp(fault, "slow") == 0) {
		char b[512];
		snprintf(
		    b, sizeof(b),
		    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"reply to "
		    "ID=%ld\"},\"finish_reason\":\"stop\"}]}",
		    id);
		char head[256];
		int n =
		    snprintf(head, sizeof(head),
		             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
		             "%zu\r\n\r\n",
		             strlen(b));
		fs_send_all(fd, head, (size_t)n);
		for (size_t i = 0; b[i]; i += 8) {
			fs_send_all(fd, b + i, AM_MIN((size_t)8, strlen(b + i)));
			usleep(5000);
		}
	} else if (strcmp(fault, "reset") == 0) {
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		*keep = false;
	} else if (strcmp(fault, "trunc") == 0) {
		const char *part =
		    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
		    "400\r\n\r\n{\"choices\":[{\"message\":{\"role\":\"assis";
		fs_send_all(fd, part, strlen(part));
		*keep = false;
	} else if (strcmp(fault, "malformed") == 0) {
		fs_respond(fd, 200, "application/json", NULL, "{\"choices\":[{\"message\": {oops",
		           *keep);
	} else if (strcmp(fault, "html") == 0) {
		fs_respond(fd, 200, "text/html", NULL, "<html><body>Gateway login</body></html>",
		           *keep);
	} else if (strcmp(fault, "huge") == 0) {
		size_t n = (size_t)3 << 20;
		char head[256];
		int hn =
		    snprintf(head, sizeof(head),
		             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
		             "%zu\r\nConnection: close\r\n\r\n",
		             n);
		fs_send_all(fd, head, (size_t)hn);
		char *big = malloc(n);
		if (big) {
			memset(big, ' ', n);
			big[0] = '[';
			big[n - 1] = ']';
			fs_send_all(fd, big, n);
			free(big);
		}
		*keep = false;
	} else if (strcmp(fault, "401") == 0) {
		char b[1024];
		const char *auth = strstr(headers, "Bearer ");
		char key[128] = "";
		if (auth)
			sscanf(auth + 7, "%127[^\r\n]", key);
		snprintf(b, sizeof(b),
		         "{\"error\":{\"message\":\"Incorrect API key provided: %s\",\"type\":"
		         "\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
		         key);
		fs_respond(fd, 401, "application/json", NULL, b, *keep);
	} else if (strcmp(fault, "404") == 0) {
		fs_respond(fd, 404, "application/json", NULL,
		           "{\"error\":{\"message\":\"The model `nope` does not exist\",\"code\":"
		           "\"model_not_found\"}}",
		           *keep);
	} else if (strcmp(fault, "toolong") == 0) {
		fs_respond(fd, 400, "application/json", NULL,
		           "{\"error\":{\"message\":\"This model's maximum context length is 8192 "
		           "tokens\",\"code\":\"context_length_exceeded\"}}",
		           *keep);
	} else if (strcmp(fault, "filter") == 0) {
		fs_respond(fd, 400, "application/json", NULL,
		           "{\"error\":{\"message\":\"flagged\",\"code\":\"content_filter\"}}",
		           *keep);
	} else if (strcmp(fault, "sleep") == 0) {
		for (int i = 0; i < 40 && !atomic_load(&s->stop); i++)
			usleep(50000);
		fs_openai_ok(fd, id, "none", false);
		*keep = false;
	} else {
		fs_respond(fd, 400, "application/json", NULL,
		           "{\"error\":{\"message\":\"bad script\"}}", *keep);
	}
}

static inline void *fs_conn_main(void *arg)
{
	struct fs_conn *c = arg;
	struct fault_server *s = c->s;
	int fd = c->fd;
	free(c);
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	bool keep = true;
	while (buf && keep && !atomic_load(&s->stop)) {
		/* Read one request: headers, then Content-Length bytes. */
		char *hend = NULL;
		while (!(hend = (len ? strstr(buf, "\r\n\r\n") : NULL))) {
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, 100) == 0) {
				if (atomic_load(&s->stop))
					goto done;
				continue;
			}
			ssize_t r = recv(fd, buf + len, cap - len, 0);
			if (r <= 0)
				goto done;
			len += (size_t)r;
			buf[len] = '\0';
		}
		size_t hlen = (size_t)(hend - buf) + 4;
		long clen = 0;
		const char *cl = strcasestr(buf, "content-length:");
		if (cl && cl < hend)
			clen = strtol(cl + 15, NULL, 10);
		while (len < hlen + (size_t)clen && len < cap) {
			ssize_t r = recv(fd, buf + len, cap - len, 0);
			if (r <= 0)
				goto done;
			len += (size_t)r;
			buf[len] = '\0';
		}
		char path[256] = "";
		sscanf(buf, "%*s %255s", path);
		char *body = buf + hlen;
		char saved = body[clen];
		body[clen] = '\0';
		char headers[8192];
		snprintf(headers, sizeof(headers), "%.*s", (int)hlen, buf);
		fs_handle(s, fd, path, headers, body, &keep);
		body[clen] = saved;
		size_t used = hlen + (size_t)clen;
		memmove(buf, buf + used, len - used);
		len -= used;
		buf[len] = '\0';
	}
done:
	free(buf);
	close(fd);
	pthread_mutex_lock(&s->lock);
	s->open_conns--;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static inline void *fs_accept_main(void *arg)
{
	struct fault_server *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {s->listen_fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(s->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct fs_conn *c = malloc(sizeof(*c));
		if (!c || s->n_conns == FS_MAX_CONNS) {
			free(c);
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->lock);
		s->open_conns++;
		if (s->open_conns > s->peak_conns)
			s->peak_conns = s->open_conns;
		pthread_mutex_unlock(&s->lock);
		if (pthread_create(&s->conns[s->n_conns], NULL, fs_conn_main, c) != 0) {
			free(c);
			close(fd);
			continue;
		}
		s->n_conns++;
	}
	return NULL;
}

static inline int fs_start(struct fault_server *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->listen_fd, 512) < 0)
		return -1;
	socklen_t al = sizeof(a);
	getsockname(s->listen_fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->thread, NULL, fs_accept_main, s) == 0 ? 0 : -1;
}

static inline void fs_stop(struct fault_server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	for (size_t i = 0; i < s->n_conns; i++)
		pthread_join(s->conns[i], NULL);
	close(s->listen_fd);
	pthread_mutex_destroy(&s->lock);
}

static inline void fs_url(const struct fault_server *s, char *out, size_t n)
{
	snprintf(out, n, "http://127.0.0.1:%d/v1", s->port);
}

#endif
