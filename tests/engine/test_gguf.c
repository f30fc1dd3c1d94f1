/* test_gguf.c: the GGUF reader on hand-built files: a valid one read back through every getter,
 * then truncated, hostile and malformed variants, each rejected with a message naming the file
 * and the field. (Agreement with the gguf PyPI reader on real files: tests/engine/gguf_peer.py.) */
#include "amlab/alloc.h"
#include "amlab/buf.h"
#include "amlab/gguf.h"
#include "test.h"

#include <unistd.h>

/* A tiny GGUF writer for building test files byte by byte. */
static void put_u32(struct am_buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	AM_CHECK(am_buf_append(b, p, 4, NULL) == 0);
}

static void put_u64(struct am_buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(struct am_buf *b, const char *s)
{
	put_u64(b, strlen(s));
	AM_CHECK(am_buf_append(b, s, strlen(s), NULL) == 0);
}

static void put_f32(struct am_buf *b, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	put_u32(b, u);
}

/* Parts of the valid file, so the hostile variants can change one thing each. */
struct spec {
	uint32_t magic, version;
	uint64_t n_tensors_override; /* UINT64_MAX: the real count */
	uint64_t n_kv_override;
	uint32_t alignment;      /* 0: no general.alignment key */
	uint32_t alignment_type; /* value type of general.alignment */
	uint32_t t1_dims;        /* dims of tensor "w" */
	uint64_t t1_ne[5];
	uint32_t t1_type;
	uint64_t t1_offset;
	const char *t2_name; /* second tensor's name */
	bool bool_value_2;   /* write 2 into the bool key */
	bool nested_array;
	bool duplicate_key;
	uint32_t extra_type; /* if non-zero: one more key with this value type, no value */
	bool truncate_data;  /* drop the last data byte */
};

static struct spec valid_spec(void)
{
	struct spec s = {0};
	s.magic = 0x46554747u;
	s.version = 3;
	s.n_tensors_override = UINT64_MAX;
	s.n_kv_override = UINT64_MAX;
	s.alignment = 64;
	s.alignment_type = 4;
	s.t1_dims = 2;
	s.t1_ne[0] = 32;
	s.t1_ne[1] = 3;
	s.t1_type = AM_GGML_Q8_0; /* 3 blocks of 34 bytes */
	s.t1_offset = 0;
	s.t2_name = "b";
	return s;
}

/* Build the file: keys u8 (200), i8 (-5), u32, i32 (-7), f32 (1.5), bool (true), string, u64,
 * an i32 array, a string array, general.alignment; tensors "w" (Q8_0 32x3) and "b" (F32, 4). */
static void build(const struct spec *s, struct am_buf *b)
{
	uint64_t n_kv = 10 + (s->alignment ? 1 : 0) + (s->nested_array ? 1 : 0) +
	                (s->duplicate_key ? 1 : 0) + (s->extra_type ? 1 : 0);
	put_u32(b, s->magic);
	put_u32(b, s->version);
	put_u64(b, s->n_tensors_override != UINT64_MAX ? s->n_tensors_override : 2);
	put_u64(b, s->n_kv_override != UINT64_MAX ? s->n_kv_override : n_kv);
	put_str(b, "t.u8");
	put_u32(b, AM_GGUF_U8);
	AM_CHECK(am_buf_putc(b, (char)200, NULL) == 0);
	put_str(b, "t.i8");
	put_u32(b, AM_GGUF_I8);
	AM_CHECK(am_buf_putc(b, (char)-5, NULL) == 0);
	put_str(b, "t.u32");
	put_u32(b, AM_GGUF_U32);
	put_u32(b, 4000000000u);
	put_str(b, "t.i32");
	put_u32(b, AM_GGUF_I32);
	put_u32(b, (uint32_t)-7);
	put_str(b, "t.f32");
	put_u32(b, AM_GGUF_F32);
	put_f32(b, 1.5f);
	put_str(b, "t.bool");
	put_u32(b, AM_GGUF_BOOL);
	AM_CHECK(am_buf_putc(b, s->bool_value_2 ? 2 : 1, NULL) == 0);
	put_str(b, "t.str");
	put_u32(b, AM_GGUF_STRING);
	put_str(b, "hello");
	put_str(b, "t.u64");
	put_u32(b, AM_GGUF_U64);
	put_u64(b, UINT64_MAX);
	put_str(b, "t.arr");
	put_u32(b, AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_I32);
	put_u64(b, 3);
	put_u32(b, 10);
	put_u32(b, (uint32_t)-20);
	put_u32(b, 30);
	put_str(b, "t.strs");
	put_u32(b, AM_GGUF_ARRAY);
	put_u32(b, AM_GGUF_STRING);
	put_u64(b, 3);
	put_str(b, "a");
	put_str(b, "");
	put_str(b, "ccc");
	if (s->nested_array) {
		put_str(b, "t.nested");
		put_u32(b, AM_GGUF_ARRAY);
		put_u32(b, AM_GGUF_ARRAY);
		put_u64(b, 1);
	}
	if (s->duplicate_key) {
		put_str(b, "t.u8");
		put_u32(b, AM_GGUF_U8);
		AM_CHECK(am_buf_putc(b, 1, NULL) == 0);
	}
	if (s->extra_type) {
		put_str(b, "t.extra");
		put_u32(b, s->extra_type);
	}
	if (s->alignment) {
		put_str(b, "general.alignment");
		put_u32(b, s->alignment_type);
		if (s->alignment_type == AM_GGUF_U64)
			put_u64(b, s->alignment);
		else
			put_u32(b, s->alignment);
	}
	uint32_t align = s->alignment ? s->alignment : 32;
	put_str(b, "w");
	put_u32(b, s->t1_dims);
	for (uint32_t d = 0; d < s->t1_dims && d < 5; d++)
		put_u64(b, s->t1_ne[d]);
	put_u32(b, s->t1_type);
	put_u64(b, s->t1_offset);
	put_str(b, s->t2_name);
	put_u32(b, 1);
	put_u64(b, 4);
	put_u32(b, AM_GGML_F32);
	put_u64(b, 128); /* "w" takes 102 bytes, padded to 128 */
	while (b->len % align)
		AM_CHECK(am_buf_putc(b, 0, NULL) == 0);
	for (int i = 0; i < 102; i++)
		AM_CHECK(am_buf_putc(b, (char)i, NULL) == 0);
	while (b->len % align)
		AM_CHECK(am_buf_putc(b, 0, NULL) == 0);
	float vals[4] = {1, 2, 3, 4};
	for (int i = 0; i < 4; i++)
		put_f32(b, vals[i]);
	if (s->truncate_data)
		am_buf_truncate(b, b->len - 1);
}

static void test_valid_file(void)
{
	struct spec s = valid_spec();
	struct am_buf b = AM_BUF_INIT;
	build(&s, &b);
	struct am_gguf *g = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_gguf_open_memory(b.data, b.len, "mem.gguf", &g, &err), 0);
	if (!g) {
		fprintf(stderr, "%s\n", err.msg);
		am_buf_free(&b);
		return;
	}
	AM_CHECK_INT(am_gguf_version(g), 3);
	AM_CHECK_INT(am_gguf_alignment(g), 64);
	AM_CHECK_INT(am_gguf_n_kv(g), 11);
	uint64_t u;
	int64_t i;
	double d;
	bool bo;
	AM_CHECK(am_gguf_get_u64(g, "t.u8", &u, &err) == 0 && u == 200);
	AM_CHECK(am_gguf_get_i64(g, "t.i8", &i, &err) == 0 && i == -5);
	AM_CHECK(am_gguf_get_u64(g, "t.u32", &u, &err) == 0 && u == 4000000000u);
	AM_CHECK(am_gguf_get_i64(g, "t.i32", &i, &err) == 0 && i == -7);
	AM_CHECK(am_gguf_get_u64(g, "t.u64", &u, &err) == 0 && u == UINT64_MAX);
	AM_CHECK(am_gguf_get_f64(g, "t.f32", &d, &err) == 0 && d == 1.5);
	AM_CHECK(am_gguf_get_bool(g, "t.bool", &bo, &err) == 0 && bo);
	struct am_gguf_str str;
	AM_CHECK(am_gguf_get_str(g, "t.str", &str, &err) == 0 && str.len == 5 &&
	         memcmp(str.ptr, "hello", 5) == 0);
	char *cs = NULL;
	AM_CHECK(am_gguf_get_cstr(g, "t.str", &cs, &err) == 0);
	AM_CHECK_STR(cs, "hello");
	am_free(cs);
	/* integer getters refuse what does not fit; typed getters name the key */
	AM_CHECK_INT(am_gguf_get_u64(g, "t.i8", &u, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "t.i8") != NULL);
	AM_CHECK_INT(am_gguf_get_i64(g, "t.u64", &i, &err), AM_EINVAL);
	AM_CHECK_INT(am_gguf_get_str(g, "t.u8", &str, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "'t.u8'") && strstr(err.msg, "expected string"));
	AM_CHECK_INT(am_gguf_get_bool(g, "t.u8", &bo, &err), AM_EINVAL);
	AM_CHECK_INT(am_gguf_get_u64(g, "t.str", &u, &err), AM_EINVAL);
	AM_CHECK_INT(am_gguf_get_u64(g, "missing.key", &u, &err), AM_ENOTFOUND);
	AM_CHECK(strstr(err.msg, "missing.key") && strcmp(err.where, "mem.gguf") == 0);
	AM_CHECK(!am_gguf_has(g, "missing.key") && am_gguf_has(g, "t.arr"));
	/* arrays */
	enum am_gguf_vtype et;
	uint64_t n;
	AM_CHECK(am_gguf_get_array(g, "t.arr", &et, &n, &err) == 0 && et == AM_GGUF_I32 && n == 3);
	AM_CHECK(am_gguf_array_i64_at(g, "t.arr", 1, &i, &err) == 0 && i == -20);
	AM_CHECK(am_gguf_array_f64_at(g, "t.arr", 2, &d, &err) == 0 && d == 30.0);
	AM_CHECK_INT(am_gguf_array_i64_at(g, "t.arr", 3, &i, &err), AM_EINVAL);
	AM_CHECK(strstr(err.msg, "out of range") != NULL);
	AM_CHECK_INT(am_gguf_array_str_at(g, "t.arr", 0, &str, &err), AM_EINVAL);
	AM_CHECK_INT(am_gguf_get_array(g, "t.u8", &et, &n, &err), AM_EINVAL);
	AM_CHECK(am_gguf_get_array(g, "t.strs", &et, &n, &err) == 0 && et == AM_GGUF_STRING &&
	         n == 3);
	AM_CHECK(am_gguf_array_str_at(g, "t.strs", 0, &str, &err) == 0 && str.len == 1 &&
	         str.ptr[0] == 'a');
	AM_CHECK(am_gguf_array_str_at(g, "t.strs", 1, &str, &err) == 0 && str.len == 0);
	AM_CHECK(am_gguf_array_str_at(g, "t.strs", 2, &str, &err) == 0 && str.len == 3 &&
	         memcmp(str.ptr, "ccc", 3) == 0);
	AM_CHECK_INT(am_gguf_array_i64_at(g, "t.strs", 0, &i, &err), AM_EINVAL);
	struct am_gguf_str key;
	enum am_gguf_vtype kt;
	AM_CHECK(am_gguf_kv_at(g, 6, &key, &kt, &err) == 0 && kt == AM_GGUF_STRING &&
	         key.len == 5 && memcmp(key.ptr, "t.str", 5) == 0);
	AM_CHECK_INT(am_gguf_kv_at(g, 11, &key, &kt, &err), AM_ENOTFOUND);
	/* tensors: offsets relative to the aligned data section */
	AM_CHECK_INT(am_gguf_n_tensors(g), 2);
	const struct am_gguf_tensor *w = am_gguf_find_tensor(g, "w");
	const struct am_gguf_tensor *bt = am_gguf_find_tensor(g, "b");
	AM_CHECK(w && bt && am_gguf_find_tensor(g, "x") == NULL);
	if (w && bt) {
		uint64_t data_off = am_gguf_data_offset(g);
		AM_CHECK(data_off % 64 == 0 && data_off + 128 + 16 == b.len);
		AM_CHECK(w->n_dims == 2 && w->ne[0] == 32 && w->ne[1] == 3 && w->ne[2] == 1 &&
		         w->ne[3] == 1);
		AM_CHECK(w->type == AM_GGML_Q8_0 && w->n_elements == 96 && w->n_bytes == 102);
		AM_CHECK(w->data == b.data + data_off && w->file_offset == data_off);
		AM_CHECK(((const uint8_t *)w->data)[101] == 101);
		AM_CHECK(bt->n_elements == 4 && bt->n_bytes == 16 &&
		         bt->data == b.data + data_off + 128);
		float f3;
		memcpy(&f3, (const uint8_t *)bt->data + 12, 4);
		AM_CHECK(f3 == 4.0f);
	}
	AM_CHECK(am_gguf_tensor(g, 2) == NULL);
	AM_CHECK_STR(am_ggml_type_name(AM_GGML_Q4_K), "Q4_K");
	AM_CHECK_INT(am_ggml_block_bytes(AM_GGML_Q6_K), 210);
	am_gguf_close(g);
	am_buf_free(&b);
}

/* Expect rejection with code and a message containing `needle`; the file is always named. */
static void expect_reject(const struct spec *s, int code, const char *needle)
{
	struct am_buf b = AM_BUF_INIT;
	build(s, &b);
	struct am_gguf *g = NULL;
	struct am_err err = {0};
	int rc = am_gguf_open_memory(b.data, b.len, "evil.gguf", &g, &err);
	AM_CHECK_INT(rc, code);
	AM_CHECK(g == NULL);
	if (!strstr(err.msg, needle)) {
		fprintf(stderr, "  expected '%s' in: %s\n", needle, err.msg);
		AM_CHECK(!"message names the field");
	}
	AM_CHECK_STR(err.where, "evil.gguf");
	am_gguf_close(g);
	am_buf_free(&b);
}

/* Version 2 has the same layout as version 3 (which only added big-endian files). */
static void test_version_2(void)
{
	struct spec s = valid_spec();
	s.version = 2;
	struct am_buf b = AM_BUF_INIT;
	build(&s, &b);
	struct am_gguf *g = NULL;
	AM_CHECK_INT(am_gguf_open_memory(b.data, b.len, "v2.gguf", &g, NULL), 0);
	if (g) {
		AM_CHECK_INT(am_gguf_version(g), 2);
		AM_CHECK(am_gguf_find_tensor(g, "b") != NULL);
	}
	am_gguf_close(g);
	am_buf_free(&b);
}

static void test_hostile_headers(void)
{
	struct spec s = valid_spec();
	s.magic = 0x46554746u;
	expect_reject(&s, AM_EPARSE, "not a GGUF file");
	s = valid_spec();
	s.version = 1;
	expect_reject(&s, AM_EUNSUPPORTED, "version 1");
	s.version = 3u << 24;
	expect_reject(&s, AM_EUNSUPPORTED, "big-endian");
	s = valid_spec();
	s.n_kv_override = UINT64_MAX / 2;
	expect_reject(&s, AM_EPARSE, "kv_count");
	s = valid_spec();
	s.n_tensors_override = 1ull << 60;
	expect_reject(&s, AM_EPARSE, "tensor_count");
	s = valid_spec();
	s.n_kv_override = 12; /* one more than present: the tensor info is read as a key */
	expect_reject(&s, AM_EPARSE, "");
}

static void test_hostile_metadata(void)
{
	struct spec s = valid_spec();
	s.bool_value_2 = true;
	expect_reject(&s, AM_EPARSE, "key 't.bool': bool value 2");
	s = valid_spec();
	s.nested_array = true;
	expect_reject(&s, AM_EUNSUPPORTED, "key 't.nested': nested arrays");
	s = valid_spec();
	s.duplicate_key = true;
	expect_reject(&s, AM_EPARSE, "key 't.u8': duplicate key");
	s = valid_spec();
	s.extra_type = 13;
	expect_reject(&s, AM_EPARSE, "key 't.extra': unknown value type 13");
	s = valid_spec();
	s.alignment = 48;
	expect_reject(&s, AM_EPARSE, "general.alignment: 48 is not a power of two");
	s = valid_spec();
	s.alignment_type = AM_GGUF_U64;
	expect_reject(&s, AM_EPARSE, "general.alignment: type u64, expected u32");
}

static void test_hostile_tensors(void)
{
	struct spec s = valid_spec();
	s.t1_dims = 5;
	s.t1_ne[2] = s.t1_ne[3] = s.t1_ne[4] = 1;
	expect_reject(&s, AM_EPARSE, "tensor 'w': 5 dimensions");
	s = valid_spec();
	s.t1_dims = 4;
	s.t1_ne[0] = 32;
	s.t1_ne[1] = 1ull << 40;
	s.t1_ne[2] = 1ull << 20;
	s.t1_ne[3] = 1ull << 10;
	expect_reject(&s, AM_EPARSE, "tensor 'w': element count overflows");
	s = valid_spec();
	s.t1_ne[1] = (uint64_t)-3;
	expect_reject(&s, AM_EPARSE, "tensor 'w': dimension 1 is");
	s = valid_spec();
	s.t1_type = 31;
	expect_reject(&s, AM_EPARSE, "tensor 'w': unknown tensor type 31");
	s.t1_type = AM_GGML_Q8_1;
	expect_reject(&s, AM_EPARSE, "tensor 'w': unknown tensor type 9");
	s = valid_spec();
	s.t1_ne[0] = 33;
	expect_reject(&s, AM_EPARSE, "tensor 'w': first dimension 33 is not a multiple");
	s = valid_spec();
	s.t1_offset = 8;
	expect_reject(&s, AM_EPARSE,
	              "tensor 'w': data offset 8 is not a multiple of the alignment");
	s = valid_spec();
	s.t1_offset = 1ull << 62;
	expect_reject(&s, AM_EPARSE, "tensor 'w': data");
	s = valid_spec();
	s.t1_ne[1] = 1ull << 50; /* 2^50 blocks: far beyond the file */
	expect_reject(&s, AM_EPARSE, "lies outside");
	s = valid_spec();
	s.truncate_data = true;
	expect_reject(&s, AM_EPARSE, "tensor 'b': data");
	s = valid_spec();
	s.t2_name = "w";
	expect_reject(&s, AM_EPARSE, "tensor 'w': duplicate tensor name");
}

/* Every strict prefix of the valid file is rejected, never read past. The prefixes are copied
 * into exact-size heap blocks so ASan catches any read beyond the end. */
static void test_every_truncation(void)
{
	struct spec s = valid_spec();
	struct am_buf b = AM_BUF_INIT;
	build(&s, &b);
	int rejected = 0;
	for (size_t n = 0; n < b.len; n++) {
		void *copy = am_memdup(b.data, n ? n : 1);
		struct am_gguf *g = NULL;
		struct am_err err = {0};
		int rc = am_gguf_open_memory(copy, n, "cut.gguf", &g, &err);
		if (rc < 0 && strcmp(err.where, "cut.gguf") == 0 && err.msg[0])
			rejected++;
		am_gguf_close(g);
		am_free(copy);
	}
	AM_CHECK_INT(rejected, b.len);
	am_buf_free(&b);
}

/* Allocation failures at every point are reported, never crash or leak. */
static void test_alloc_failures(void)
{
	struct spec s = valid_spec();
	struct am_buf b = AM_BUF_INIT;
	build(&s, &b);
	bool succeeded = false;
	for (long n = 0; n < 50 && !succeeded; n++) {
		struct am_gguf *g = NULL;
		struct am_err err = {0};
		am_alloc_fail_after(n, true);
		int rc = am_gguf_open_memory(b.data, b.len, "mem.gguf", &g, &err);
		am_alloc_fail_after(-1, false);
		if (rc == 0)
			succeeded = true;
		else
			AM_CHECK_INT(rc, AM_ENOMEM);
		am_gguf_close(g);
	}
	AM_CHECK(succeeded);
	am_buf_free(&b);
}

static void test_open_path(void)
{
	struct am_gguf *g = NULL;
	struct am_err err = {0};
	AM_CHECK_INT(am_gguf_open("/nonexistent/x.gguf", &g, &err), AM_EIO);
	AM_CHECK_STR(err.where, "/nonexistent/x.gguf");
	char path[] = "/tmp/amlab-test-gguf-XXXXXX";
	int fd = mkstemp(path);
	AM_CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	AM_CHECK_INT(am_gguf_open(path, &g, &err), AM_EPARSE); /* empty file */
	AM_CHECK(strstr(err.msg, "too short") != NULL);
	struct spec s = valid_spec();
	struct am_buf b = AM_BUF_INIT;
	build(&s, &b);
	AM_CHECK(am_write_file_atomic(path, b.data, b.len, &err) == 0);
	AM_CHECK_INT(am_gguf_open(path, &g, &err), 0);
	if (g) {
		AM_CHECK_STR(am_gguf_name(g), path);
		const struct am_gguf_tensor *w = am_gguf_find_tensor(g, "w");
		AM_CHECK(w && ((const uint8_t *)w->data)[7] == 7);
	}
	am_gguf_close(g);
	unlink(path);
	am_buf_free(&b);
}

int main(void)
{
	AM_RUN(test_valid_file);
	AM_RUN(test_version_2);
	AM_RUN(test_hostile_headers);
	AM_RUN(test_hostile_metadata);
	AM_RUN(test_hostile_tensors);
	AM_RUN(test_every_truncation);
	AM_RUN(test_alloc_failures);
	AM_RUN(test_open_path);
	return am_test_result();
}
