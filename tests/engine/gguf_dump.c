/* gguf_dump.c: prints everything amlab's GGUF reader sees in a file, one line per metadata key
 * and per tensor, in a plain format that tests/engine/gguf_peer.py also derives from the gguf
 * PyPI reader; the two must agree exactly. Strings are hex-encoded (tokens need not be UTF-8),
 * floats printed with %.17g.
 *
 *   kv KEYHEX TYPE VALUE                      scalar
 *   kv KEYHEX array ELEMTYPE COUNT V1 V2 ...  array
 *   tensor NAMEHEX TYPEID NDIMS NE0..NE3 NELEMENTS NBYTES FILEOFFSET
 *
 * Usage: gguf_dump FILE; on a rejected file prints the error and exits 1.
 *        gguf_dump --types: one line "ID ELEMS BYTES" per tensor type the reader knows. */
#include "amlab/alloc.h"
#include "amlab/gguf.h"

static const char *const vnames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                     "bool", "string", "array", "u64", "i64", "f64"};

static void put_hex(const char *p, uint64_t n)
{
	if (n == 0) {
		fputs("-", stdout);
		return;
	}
	for (uint64_t i = 0; i < n; i++)
		printf("%02x", (unsigned char)p[i]);
}

static int put_scalar(const struct am_gguf *g, const char *key, enum am_gguf_vtype t,
                      struct am_err *err)
{
	int rc = 0;
	switch (t) {
	case AM_GGUF_STRING: {
		struct am_gguf_str s;
		if ((rc = am_gguf_get_str(g, key, &s, err)) == 0)
			put_hex(s.ptr, s.len);
		break;
	}
	case AM_GGUF_BOOL: {
		bool b;
		if ((rc = am_gguf_get_bool(g, key, &b, err)) == 0)
			printf("%d", b ? 1 : 0);
		break;
	}
	case AM_GGUF_F32:
	case AM_GGUF_F64: {
		double d;
		if ((rc = am_gguf_get_f64(g, key, &d, err)) == 0)
			printf("%.17g", d);
		break;
	}
	case AM_GGUF_U64: {
		uint64_t u;
		if ((rc = am_gguf_get_u64(g, key, &u, err)) == 0)
			printf("%" PRIu64, u);
		break;
	}
	default: {
		int64_t v;
		if ((rc = am_gguf_get_i64(g, key, &v, err)) == 0)
			printf("%" PRId64, v);
		break;
	}
	}
	return rc;
}

static int put_array(const struct am_gguf *g, const char *key, struct am_err *err)
{
	enum am_gguf_vtype et;
	uint64_t count;
	int rc = am_gguf_get_array(g, key, &et, &count, err);
	if (rc < 0)
		return rc;
	printf("array %s %" PRIu64, vnames[et], count);
	for (uint64_t i = 0; i < count && rc == 0; i++) {
		putchar(' ');
		if (et == AM_GGUF_STRING) {
			struct am_gguf_str s;
			if ((rc = am_gguf_array_str_at(g, key, i, &s, err)) == 0)
				put_hex(s.ptr, s.len);
		} else if (et == AM_GGUF_F32 || et == AM_GGUF_F64) {
			double d;
			if ((rc = am_gguf_array_f64_at(g, key, i, &d, err)) == 0)
				printf("%.17g", d);
		} else {
			/* u64 elements above INT64_MAX fail here: the getter reports them */
			int64_t v;
			if ((rc = am_gguf_array_i64_at(g, key, i, &v, err)) == 0)
				printf("%" PRId64, v);
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gguf_dump FILE | --types\n");
		return 2;
	}
	if (strcmp(argv[1], "--types") == 0) {
		for (int id = 0; id < 64; id++)
			if (am_ggml_block_bytes((enum am_ggml_type)id))
				printf("%d %zu %zu\n", id,
				       am_ggml_block_elems((enum am_ggml_type)id),
				       am_ggml_block_bytes((enum am_ggml_type)id));
		return 0;
	}
	struct am_err err = {0};
	struct am_gguf *g = NULL;
	char msg[1100];
	int rc = am_gguf_open(argv[1], &g, &err);
	if (rc < 0)
		goto out;
	printf("version %" PRIu32 "\n", am_gguf_version(g));
	printf("alignment %" PRIu32 "\n", am_gguf_alignment(g));
	for (size_t i = 0; i < am_gguf_n_kv(g) && rc == 0; i++) {
		struct am_gguf_str k;
		enum am_gguf_vtype t;
		if ((rc = am_gguf_kv_at(g, i, &k, &t, &err)) < 0)
			break;
		char *key = am_strndup(k.ptr, (size_t)k.len);
		if (!key) {
			rc = am_err_set(&err, AM_ENOMEM, "out of memory");
			break;
		}
		printf("kv ");
		put_hex(k.ptr, k.len);
		if (t == AM_GGUF_ARRAY) {
			putchar(' ');
			rc = put_array(g, key, &err);
		} else {
			printf(" %s ", vnames[t]);
			rc = put_scalar(g, key, t, &err);
		}
		putchar('\n');
		am_free(key);
	}
	for (size_t i = 0; i < am_gguf_n_tensors(g) && rc == 0; i++) {
		const struct am_gguf_tensor *t = am_gguf_tensor(g, i);
		printf("tensor ");
		put_hex(t->name.ptr, t->name.len);
		printf(" %d %" PRIu32, (int)t->type, t->n_dims);
		for (int d = 0; d < 4; d++)
			printf(" %" PRIu64, t->ne[d]);
		printf(" %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", t->n_elements, t->n_bytes,
		       t->file_offset);
		if ((const char *)t->data != (const char *)am_gguf_tensor(g, 0)->data -
		                                 am_gguf_tensor(g, 0)->file_offset +
		                                 t->file_offset) {
			rc = am_err_set(&err, AM_EINTERNAL,
			                "tensor data pointer disagrees with offset");
		}
	}
out:
	am_gguf_close(g);
	if (rc < 0) {
		am_err_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	return 0;
}
