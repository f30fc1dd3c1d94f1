/* test_source.h: a struct am_request_source over a fixed array of single-message requests,
 * recording every reply per tag, for the backend tests and benchmark.
 *
 * Ownership: ts_init allocates; ts_free releases requests and the replies received. */
#ifndef AMLAB_TESTS_TEST_SOURCE_H
#define AMLAB_TESTS_TEST_SOURCE_H

#include "amlab/alloc.h"
#include "amlab/model.h"

struct test_source {
	size_t n, next_i;
	struct am_chat_request *reqs;
	struct am_chat_message *msgs;
	struct am_chat_reply *replies;
	int *answered; /* times done() was called per tag */
	size_t in_hand;
	size_t peak_in_hand;
};

static inline void ts_init(struct test_source *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->reqs = am_calloc(n, sizeof(*s->reqs));
	s->msgs = am_calloc(n, sizeof(*s->msgs));
	s->replies = am_calloc(n, sizeof(*s->replies));
	s->answered = am_calloc(n, sizeof(*s->answered));
	for (size_t i = 0; i < n; i++) {
		s->msgs[i].role = AM_ROLE_USER;
		s->reqs[i].messages = &s->msgs[i];
		s->reqs[i].n_messages = 1;
		s->reqs[i].top_p = 1;
		s->reqs[i].seed = i;
		s->reqs[i].sample_index = (int)i;
	}
}

static inline void ts_set_text(struct test_source *s, size_t i, const char *text)
{
	am_free(s->msgs[i].content);
	s->msgs[i].content = am_strdup(text);
}

static inline void ts_free(struct test_source *s)
{
	for (size_t i = 0; i < s->n; i++) {
		am_chat_message_free(&s->msgs[i]);
		am_chat_reply_free(&s->replies[i]);
	}
	am_free(s->reqs);
	am_free(s->msgs);
	am_free(s->replies);
	am_free(s->answered);
}

static inline int ts_next(void *ctx, const struct am_chat_request **req, void **tag,
                          struct am_err *err)
{
	(void)err;
	struct test_source *s = ctx;
	*req = NULL;
	if (s->next_i < s->n) {
		*tag = (void *)(uintptr_t)s->next_i;
		*req = &s->reqs[s->next_i++];
		s->in_hand++;
		if (s->in_hand > s->peak_in_hand)
			s->peak_in_hand = s->in_hand;
	}
	return 0;
}

static inline void ts_done(void *ctx, void *tag, struct am_chat_reply *reply)
{
	struct test_source *s = ctx;
	size_t i = (size_t)(uintptr_t)tag;
	s->in_hand--;
	if (i >= s->n) {
		am_chat_reply_free(reply);
		return;
	}
	if (s->answered[i]++) {
		am_chat_reply_free(reply); /* a duplicate: counted, not kept */
		return;
	}
	s->replies[i] = *reply;
	memset(reply, 0, sizeof(*reply));
}

static inline bool ts_finished(void *ctx)
{
	struct test_source *s = ctx;
	return s->next_i == s->n;
}

static inline struct am_request_source ts_source(struct test_source *s)
{
	struct am_request_source src = {s, ts_next, ts_done, ts_finished};
	return src;
}

#endif
