/* gguf.c: the GGUF v2/v3 reader (see include/amlab/gguf.h).
 *
 * The whole file is validated at open: every length, count and offset is checked against the
 * bytes that remain before it is used, with overflow-safe arithmetic, so the getters can then
 * trust the index. Only little-endian files are supported (a big-endian file is recognised by
 * its byte-swapped version and rejected as such). */
#include "amlab/gguf.h"
#include "amlab/alloc.h"
#include "amlab/str.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC             0x46554747u /* "GGUF" little-endian */
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MAX_DIMS          4u

struct gguf_kv {
	struct am_gguf_str key;
	enum am_gguf_vtype type;
	const uint8_t *val;      /* scalar value or string record (u64 length + bytes) */
	enum am_gguf_vtype elem; /* arrays only */
	uint64_t count;          /* arrays only */
	const uint8_t *arr;      /* arrays only: first element */
	uint64_t *str_off;       /* string arrays: offset of each element's record from arr */
};

struct am_gguf {
	char *name;
	const uint8_t *base;
	size_t size;
	bool mapped;
	uint32_t version;
	uint32_t alignment;
	uint64_t data_offset;
	size_t n_kv;
	struct gguf_kv *kv;
	size_t n_tensors;
	struct am_gguf_tensor *tensors;
};

struct cursor {
	const uint8_t *base;
	size_t size;
	size_t pos;
	const char *name;
	struct am_err *err;
};

static int bad(struct cursor *c, const char *fmt, ...) AM_PRINTF(2, 3);

static int bad(struct cursor *c, const char *fmt, ...)
{
	char msg[AM_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	return am_err_at(c->err, AM_EPARSE, c->name, 0, 0, "invalid GGUF: %s (at byte %zu)", msg,
	                 c->pos);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t remaining(const struct cursor *c)
{
	return c->size - c->pos;
}

static int need(struct cursor *c, uint64_t n, const char *field)
{
	if (n > remaining(c))
		return bad(c, "%s: needs %" PRIu64 " bytes but only %zu remain (truncated file)",
		           field, n, remaining(c));
	return 0;
}

static int rd_u32(struct cursor *c, uint32_t *out, const char *field)
{
	int rc = need(c, 4, field);
	if (rc < 0)
		return rc;
	*out = le32(c->base + c->pos);
	c->pos += 4;
	return 0;
}

static int rd_u64(struct cursor *c, uint64_t *out, const char *field)
{
	int rc = need(c, 8, field);
	if (rc < 0)
		return rc;
	*out = le64(c->base + c->pos);
	c->pos += 8;
	return 0;
}

static int rd_str(struct cursor *c, struct am_gguf_str *out, const char *field)
{
	uint64_t len;
	int rc = rd_u64(c, &len, field);
	if (rc < 0)
		return rc;
	if (len > remaining(c))
		return bad(c, "%s: string length %" PRIu64 " exceeds the %zu bytes that remain",
		           field, len, remaining(c));
	out->ptr = (const char *)(c->base + c->pos);
	out->len = len;
	c->pos += (size_t)len;
	return 0;
}

/* Size of a fixed-size value type; 0 for string, array and unknown types. */
static size_t vtype_size(uint32_t t)
{
	switch (t) {
	case AM_GGUF_U8:
	case AM_GGUF_I8:
	case AM_GGUF_BOOL: return 1;
	case AM_GGUF_U16:
	case AM_GGUF_I16: return 2;
	case AM_GGUF_U32:
	case AM_GGUF_I32:
	case AM_GGUF_F32: return 4;
	case AM_GGUF_U64:
	case AM_GGUF_I64:
	case AM_GGUF_F64: return 8;
	default: return 0;
	}
}

static const char *vtype_name(uint32_t t)
{
	static const char *const names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
	                                    "bool", "string", "array", "u64", "i64", "f64"};
	return t < AM_ARRAY_LEN(names) ? names[t] : "unknown";
}

/* A key printable in messages: at most 120 bytes, non-printable bytes as '?'. */
static void key_for_msg(const struct am_gguf_str *k, char *out, size_t out_size)
{
	size_t n = k->len < out_size - 1 ? (size_t)k->len : out_size - 1;
	if (n > 120)
		n = 120;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)k->ptr[i];
		out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[n] = '\0';
}

static int parse_kv(struct cursor *c, struct gguf_kv *kv, uint64_t idx)
{
	char field[64], kname[128];
	int rc;
	(void)am_snprintf(field, sizeof(field), "metadata key #%" PRIu64, idx);
	if ((rc = rd_str(c, &kv->key, field)) < 0)
		return rc;
	key_for_msg(&kv->key, kname, sizeof(kname));
	if (kv->key.len == 0)
		return bad(c, "%s: empty key", field);
	if (memchr(kv->key.ptr, '\0', (size_t)kv->key.len))
		return bad(c, "key '%s': contains a NUL byte", kname);
	uint32_t type;
	if ((rc = rd_u32(c, &type, kname)) < 0)
		return rc;
	kv->type = (enum am_gguf_vtype)type;
	if (type == AM_GGUF_STRING) {
		kv->val = c->base + c->pos;
		struct am_gguf_str s;
		return rd_str(c, &s, kname);
	}
	if (type != AM_GGUF_ARRAY) {
		size_t sz = vtype_size(type);
		if (!sz)
			return bad(c, "key '%s': unknown value type %" PRIu32, kname, type);
		if ((rc = need(c, sz, kname)) < 0)
			return rc;
		kv->val = c->base + c->pos;
		if (type == AM_GGUF_BOOL && kv->val[0] > 1)
			return bad(c, "key '%s': bool value %u is neither 0 nor 1", kname,
			           kv->val[0]);
		c->pos += sz;
		return 0;
	}
	uint32_t elem;
	if ((rc = rd_u32(c, &elem, kname)) < 0)
		return rc;
	if ((rc = rd_u64(c, &kv->count, kname)) < 0)
		return rc;
	kv->elem = (enum am_gguf_vtype)elem;
	kv->arr = c->base + c->pos;
	if (elem == AM_GGUF_STRING) {
		/* Each element needs at least its 8-byte length: bound the count before allocating.
		 */
		if (kv->count > remaining(c) / 8)
			return bad(c,
			           "key '%s': array of %" PRIu64
			           " strings cannot fit in the %zu bytes that remain",
			           kname, kv->count, remaining(c));
		kv->str_off =
		    am_reallocarray(NULL, kv->count ? (size_t)kv->count : 1, sizeof(uint64_t));
		if (!kv->str_off)
			return am_err_set(c->err, AM_ENOMEM, "%s: out of memory indexing key '%s'",
			                  c->name, kname);
		for (uint64_t i = 0; i < kv->count; i++) {
			kv->str_off[i] = (uint64_t)(c->base + c->pos - kv->arr);
			struct am_gguf_str s;
			if ((rc = rd_str(c, &s, kname)) < 0)
				return rc;
		}
		return 0;
	}
	size_t sz = vtype_size(elem);
	if (!sz) {
		if (elem == AM_GGUF_ARRAY)
			return am_err_at(c->err, AM_EUNSUPPORTED, c->name, 0, 0,
			                 "invalid GGUF: key '%s': nested arrays are not supported "
			                 "(at byte %zu)",
			                 kname, c->pos);
		return bad(c, "key '%s': unknown array element type %" PRIu32, kname, elem);
	}
	if (kv->count > remaining(c) / sz)
		return bad(
		    c, "key '%s': array of %" PRIu64 " %s values exceeds the %zu bytes that remain",
		    kname, kv->count, vtype_name(elem), remaining(c));
	size_t bytes = (size_t)kv->count * sz;
	if (elem == AM_GGUF_BOOL) {
		for (size_t i = 0; i < bytes; i++)
			if (kv->arr[i] > 1)
				return bad(c, "key '%s': bool element %zu is %u, neither 0 nor 1",
				           kname, i, kv->arr[i]);
	}
	c->pos += bytes;
	return 0;
}

static const struct gguf_kv *find_kv(const struct am_gguf *g, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < g->n_kv; i++)
		if (g->kv[i].key.len == klen && memcmp(g->kv[i].key.ptr, key, klen) == 0)
			return &g->kv[i];
	return NULL;
}

static bool str_eq(const struct am_gguf_str *a, const struct am_gguf_str *b)
{
	return a->len == b->len && memcmp(a->ptr, b->ptr, (size_t)a->len) == 0;
}

static bool type_known(uint32_t t)
{
	return am_ggml_block_bytes((enum am_ggml_type)t) != 0;
}

static int parse_tensor(struct cursor *c, struct am_gguf_tensor *t, uint64_t idx)
{
	char field[64], tname[128];
	int rc;
	(void)am_snprintf(field, sizeof(field), "tensor #%" PRIu64 " name", idx);
	if ((rc = rd_str(c, &t->name, field)) < 0)
		return rc;
	key_for_msg(&t->name, tname, sizeof(tname));
	if (memchr(t->name.ptr, '\0', (size_t)t->name.len))
		return bad(c, "tensor '%s': name contains a NUL byte", tname);
	if ((rc = rd_u32(c, &t->n_dims, tname)) < 0)
		return rc;
	if (t->n_dims > GGUF_MAX_DIMS)
		return bad(c, "tensor '%s': %" PRIu32 " dimensions (at most %u)", tname, t->n_dims,
		           GGUF_MAX_DIMS);
	uint64_t n = 1;
	for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
		t->ne[d] = 1;
		if (d >= t->n_dims)
			continue;
		if ((rc = rd_u64(c, &t->ne[d], tname)) < 0)
			return rc;
		if (t->ne[d] > (uint64_t)INT64_MAX)
			return bad(c,
			           "tensor '%s': dimension %" PRIu32 " is %" PRIu64 " (negative)",
			           tname, d, t->ne[d]);
		if (t->ne[d] && n > (uint64_t)INT64_MAX / t->ne[d])
			return bad(c, "tensor '%s': element count overflows", tname);
		n *= t->ne[d];
	}
	t->n_elements = n;
	uint32_t type;
	if ((rc = rd_u32(c, &type, tname)) < 0)
		return rc;
	if (!type_known(type))
		return bad(c, "tensor '%s': unknown tensor type %" PRIu32, tname, type);
	t->type = (enum am_ggml_type)type;
	size_t be = am_ggml_block_elems(t->type), bb = am_ggml_block_bytes(t->type);
	if (t->ne[0] % be != 0)
		return bad(c,
		           "tensor '%s': first dimension %" PRIu64 " is not a multiple of %s's "
		           "block size %zu",
		           tname, t->ne[0], am_ggml_type_name(t->type), be);
	uint64_t blocks = n / be;
	if (blocks > UINT64_MAX / bb)
		return bad(c, "tensor '%s': byte size overflows", tname);
	t->n_bytes = blocks * bb;
	/* file_offset temporarily holds the offset relative to the data section */
	if ((rc = rd_u64(c, &t->file_offset, tname)) < 0)
		return rc;
	return 0;
}

static int parse(struct am_gguf *g, struct am_err *err)
{
	struct cursor c = {g->base, g->size, 0, g->name, err};
	uint32_t magic;
	uint64_t n_tensors, n_kv;
	int rc;
	if (g->size < 4 || (magic = le32(g->base)) != GGUF_MAGIC)
		return bad(&c, "magic: not a GGUF file (the first 4 bytes are not \"GGUF\")");
	c.pos = 4;
	if ((rc = rd_u32(&c, &g->version, "version")) < 0)
		return rc;
	if (g->version == 2u << 24 || g->version == 3u << 24)
		return am_err_at(err, AM_EUNSUPPORTED, g->name, 0, 0,
		                 "big-endian GGUF files are not supported");
	if (g->version != 2 && g->version != 3)
		return am_err_at(err, AM_EUNSUPPORTED, g->name, 0, 0,
		                 "GGUF version %" PRIu32 " is not supported (only 2 and 3)",
		                 g->version);
	if ((rc = rd_u64(&c, &n_tensors, "tensor_count")) < 0)
		return rc;
	if ((rc = rd_u64(&c, &n_kv, "kv_count")) < 0)
		return rc;
	/* A key-value pair takes at least 8 (key length) + 1 (key) + 4 (type) + 1 bytes; a tensor
	 * info at least 8 + 4 + 4 + 8. Bound the counts by the file before allocating. */
	if (n_kv > remaining(&c) / 14)
		return bad(&c, "kv_count: %" PRIu64 " pairs cannot fit in a %zu-byte file", n_kv,
		           g->size);
	if (n_tensors > remaining(&c) / 24)
		return bad(&c, "tensor_count: %" PRIu64 " tensors cannot fit in a %zu-byte file",
		           n_tensors, g->size);
	g->kv = am_calloc(n_kv ? (size_t)n_kv : 1, sizeof(*g->kv));
	g->tensors = am_calloc(n_tensors ? (size_t)n_tensors : 1, sizeof(*g->tensors));
	if (!g->kv || !g->tensors)
		return am_err_set(err, AM_ENOMEM, "%s: out of memory for the GGUF index", g->name);
	for (uint64_t i = 0; i < n_kv; i++) {
		rc = parse_kv(&c, &g->kv[i], i);
		g->n_kv = (size_t)i + 1; /* so close() frees a half-parsed entry */
		if (rc < 0)
			return rc;
		for (uint64_t j = 0; j < i; j++)
			if (str_eq(&g->kv[j].key, &g->kv[i].key)) {
				char kname[128];
				key_for_msg(&g->kv[i].key, kname, sizeof(kname));
				return bad(&c, "key '%s': duplicate key", kname);
			}
	}
	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	const struct gguf_kv *al = find_kv(g, "general.alignment");
	if (al) {
		if (al->type != AM_GGUF_U32)
			return bad(&c, "general.alignment: type %s, expected u32",
			           vtype_name(al->type));
		uint32_t a = le32(al->val);
		if (a == 0 || (a & (a - 1)) != 0)
			return bad(&c, "general.alignment: %" PRIu32 " is not a power of two", a);
		g->alignment = a;
	}
	for (uint64_t i = 0; i < n_tensors; i++) {
		if ((rc = parse_tensor(&c, &g->tensors[i], i)) < 0)
			return rc;
		g->n_tensors = (size_t)i + 1;
		for (uint64_t j = 0; j < i; j++)
			if (str_eq(&g->tensors[j].name, &g->tensors[i].name)) {
				char tname[128];
				key_for_msg(&g->tensors[i].name, tname, sizeof(tname));
				return bad(&c, "tensor '%s': duplicate tensor name", tname);
			}
	}
	uint64_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
	g->data_offset = (uint64_t)c.pos + pad;
	if (n_tensors && g->data_offset > g->size)
		return bad(&c, "data section: starts at %" PRIu64 ", beyond the end of the file",
		           g->data_offset);
	uint64_t data_size = g->data_offset <= g->size ? g->size - g->data_offset : 0;
	for (size_t i = 0; i < g->n_tensors; i++) {
		struct am_gguf_tensor *t = &g->tensors[i];
		char tname[128];
		key_for_msg(&t->name, tname, sizeof(tname));
		uint64_t off = t->file_offset;
		if (off % g->alignment != 0)
			return bad(&c,
			           "tensor '%s': data offset %" PRIu64
			           " is not a multiple of the alignment %" PRIu32,
			           tname, off, g->alignment);
		if (off > data_size || t->n_bytes > data_size - off)
			return bad(&c,
			           "tensor '%s': data [%" PRIu64 ", +%" PRIu64
			           ") lies outside the %" PRIu64 "-byte data section",
			           tname, off, t->n_bytes, data_size);
		t->file_offset = g->data_offset + off;
		t->data = g->base + t->file_offset;
	}
	return 0;
}

static int open_common(struct am_gguf *g, struct am_gguf **out, struct am_err *err)
{
	int rc = parse(g, err);
	if (rc < 0) {
		am_gguf_close(g);
		return rc;
	}
	*out = g;
	return 0;
}

int am_gguf_open_memory(const void *data, size_t size, const char *name, struct am_gguf **out,
                        struct am_err *err)
{
	*out = NULL;
	if (!name)
		name = "<memory>";
	struct am_gguf *g = am_calloc(1, sizeof(*g));
	if (!g)
		return am_err_set(err, AM_ENOMEM, "%s: out of memory", name);
	g->name = am_strdup(name);
	if (!g->name) {
		am_free(g);
		return am_err_set(err, AM_ENOMEM, "%s: out of memory", name);
	}
	g->base = data;
	g->size = size;
	if (!data && size)
		return am_gguf_close(g), am_err_set(err, AM_EINVAL, "%s: NULL data", name);
	static const uint8_t empty[1];
	if (!g->base)
		g->base = empty;
	return open_common(g, out, err);
}

int am_gguf_open(const char *path, struct am_gguf **out, struct am_err *err)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return am_err_at(err, AM_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return am_err_at(err, AM_EIO, path, 0, 0, "cannot stat: %s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return am_err_at(err, AM_EIO, path, 0, 0, "not a regular file");
	}
	if (st.st_size < 8) {
		close(fd);
		return am_err_at(err, AM_EPARSE, path, 0, 0,
		                 "invalid GGUF: file is %lld bytes, too short for a header",
		                 (long long)st.st_size);
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return am_err_at(err, AM_ELIMIT, path, 0, 0, "file too large to map");
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (map == MAP_FAILED)
		return am_err_at(err, AM_EIO, path, 0, 0, "cannot mmap: %s", strerror(e));
	struct am_gguf *g = am_calloc(1, sizeof(*g));
	char *name = g ? am_strdup(path) : NULL;
	if (!g || !name) {
		am_free(g);
		munmap(map, (size_t)st.st_size);
		return am_err_at(err, AM_ENOMEM, path, 0, 0, "out of memory");
	}
	g->name = name;
	g->base = map;
	g->size = (size_t)st.st_size;
	g->mapped = true;
	return open_common(g, out, err);
}

void am_gguf_close(struct am_gguf *g)
{
	if (!g)
		return;
	if (g->kv)
		for (size_t i = 0; i < g->n_kv; i++)
			am_free(g->kv[i].str_off);
	am_free(g->kv);
	am_free(g->tensors);
	if (g->mapped)
		munmap((void *)g->base, g->size);
	am_free(g->name);
	am_free(g);
}

uint32_t am_gguf_version(const struct am_gguf *g)
{
	return g->version;
}

size_t am_gguf_n_tensors(const struct am_gguf *g)
{
	return g->n_tensors;
}

const struct am_gguf_tensor *am_gguf_tensor(const struct am_gguf *g, size_t i)
{
	return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct am_gguf_tensor *am_gguf_find_tensor(const struct am_gguf *g, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < g->n_tensors; i++)
		if (g->tensors[i].name.len == len && memcmp(g->tensors[i].name.ptr, name, len) == 0)
			return &g->tensors[i];
	return NULL;
}

size_t am_gguf_n_kv(const struct am_gguf *g)
{
	return g->n_kv;
}

int am_gguf_kv_at(const struct am_gguf *g, size_t i, struct am_gguf_str *key,
                  enum am_gguf_vtype *type, struct am_err *err)
{
	if (i >= g->n_kv)
		return am_err_at(err, AM_ENOTFOUND, g->name, 0, 0,
		                 "metadata index %zu out of range", i);
	if (key)
		*key = g->kv[i].key;
	if (type)
		*type = g->kv[i].type;
	return 0;
}

uint64_t am_gguf_data_offset(const struct am_gguf *g)
{
	return g->data_offset;
}

uint32_t am_gguf_alignment(const struct am_gguf *g)
{
	return g->alignment;
}

const char *am_gguf_name(const struct am_gguf *g)
{
	return g->name;
}

bool am_gguf_has(const struct am_gguf *g, const char *key)
{
	return find_kv(g, key) != NULL;
}

static int lookup(const struct am_gguf *g, const char *key, const struct gguf_kv **out,
                  struct am_err *err)
{
	*out = find_kv(g, key);
	if (!*out)
		return am_err_at(err, AM_ENOTFOUND, g->name, 0, 0, "metadata key '%s' not found",
		                 key);
	return 0;
}

static int wrong_type(const struct am_gguf *g, const char *key, uint32_t type, const char *want,
                      struct am_err *err)
{
	return am_err_at(err, AM_EINVAL, g->name, 0, 0,
	                 "metadata key '%s' has type %s, expected %s", key, vtype_name(type), want);
}

/* Read an integer of type t at p: unsigned into *u (is_signed false) or signed into *s. */
static bool read_int(uint32_t t, const uint8_t *p, bool *is_signed, uint64_t *u, int64_t *s)
{
	*is_signed = false;
	switch (t) {
	case AM_GGUF_U8: *u = p[0]; return true;
	case AM_GGUF_U16: *u = (uint64_t)p[0] | (uint64_t)p[1] << 8; return true;
	case AM_GGUF_U32: *u = le32(p); return true;
	case AM_GGUF_U64: *u = le64(p); return true;
	default: break;
	}
	*is_signed = true;
	switch (t) {
	case AM_GGUF_I8: *s = (int8_t)p[0]; return true;
	case AM_GGUF_I16:
		*s = (int16_t)(uint16_t)((unsigned)p[0] | (unsigned)p[1] << 8);
		return true;
	case AM_GGUF_I32: *s = (int32_t)le32(p); return true;
	case AM_GGUF_I64: *s = (int64_t)le64(p); return true;
	default: return false;
	}
}

static double read_float(uint32_t t, const uint8_t *p)
{
	if (t == AM_GGUF_F32) {
		uint32_t b = le32(p);
		float f;
		memcpy(&f, &b, sizeof(f));
		return f;
	}
	uint64_t b = le64(p);
	double d;
	memcpy(&d, &b, sizeof(d));
	return d;
}

int am_gguf_get_u64(const struct am_gguf *g, const char *key, uint64_t *out, struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = lookup(g, key, &kv, err);
	if (rc < 0)
		return rc;
	bool sgn;
	uint64_t u;
	int64_t s;
	if (!read_int(kv->type, kv->val, &sgn, &u, &s))
		return wrong_type(g, key, kv->type, "an integer", err);
	if (sgn) {
		if (s < 0)
			return am_err_at(err, AM_EINVAL, g->name, 0, 0,
			                 "metadata key '%s' is negative (%" PRId64 ")", key, s);
		u = (uint64_t)s;
	}
	*out = u;
	return 0;
}

int am_gguf_get_i64(const struct am_gguf *g, const char *key, int64_t *out, struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = lookup(g, key, &kv, err);
	if (rc < 0)
		return rc;
	bool sgn;
	uint64_t u;
	int64_t s;
	if (!read_int(kv->type, kv->val, &sgn, &u, &s))
		return wrong_type(g, key, kv->type, "an integer", err);
	if (!sgn) {
		if (u > (uint64_t)INT64_MAX)
			return am_err_at(err, AM_EINVAL, g->name, 0, 0,
			                 "metadata key '%s' (%" PRIu64 ") does not fit in i64", key,
			                 u);
		s = (int64_t)u;
	}
	*out = s;
	return 0;
}

int am_gguf_get_f64(const struct am_gguf *g, const char *key, double *out, struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = lookup(g, key, &kv, err);
	if (rc < 0)
		return rc;
	if (kv->type == AM_GGUF_F32 || kv->type == AM_GGUF_F64) {
		*out = read_float(kv->type, kv->val);
		return 0;
	}
	bool sgn;
	uint64_t u;
	int64_t s;
	if (!read_int(kv->type, kv->val, &sgn, &u, &s))
		return wrong_type(g, key, kv->type, "a number", err);
	*out = sgn ? (double)s : (double)u;
	return 0;
}

int am_gguf_get_bool(const struct am_gguf *g, const char *key, bool *out, struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = lookup(g, key, &kv, err);
	if (rc < 0)
		return rc;
	if (kv->type != AM_GGUF_BOOL)
		return wrong_type(g, key, kv->type, "bool", err);
	*out = kv->val[0] != 0;
	return 0;
}

int am_gguf_get_str(const struct am_gguf *g, const char *key, struct am_gguf_str *out,
                    struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = lookup(g, key, &kv, err);
	if (rc < 0)
		return rc;
	if (kv->type != AM_GGUF_STRING)
		return wrong_type(g, key, kv->type, "string", err);
	out->len = le64(kv->val);
	out->ptr = (const char *)kv->val + 8;
	return 0;
}

int am_gguf_get_cstr(const struct am_gguf *g, const char *key, char **out, struct am_err *err)
{
	struct am_gguf_str s;
	int rc = am_gguf_get_str(g, key, &s, err);
	if (rc < 0)
		return rc;
	if (memchr(s.ptr, '\0', (size_t)s.len))
		return am_err_at(err, AM_EINVAL, g->name, 0, 0,
		                 "metadata key '%s' contains a NUL byte", key);
	*out = am_strndup(s.ptr, (size_t)s.len);
	if (!*out)
		return am_err_set(err, AM_ENOMEM, "out of memory");
	return 0;
}

int am_gguf_get_array(const struct am_gguf *g, const char *key, enum am_gguf_vtype *elem_type,
                      uint64_t *count, struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = lookup(g, key, &kv, err);
	if (rc < 0)
		return rc;
	if (kv->type != AM_GGUF_ARRAY)
		return wrong_type(g, key, kv->type, "array", err);
	if (elem_type)
		*elem_type = kv->elem;
	if (count)
		*count = kv->count;
	return 0;
}

static int array_elem(const struct am_gguf *g, const char *key, uint64_t i,
                      const struct gguf_kv **out, struct am_err *err)
{
	int rc = lookup(g, key, out, err);
	if (rc < 0)
		return rc;
	if ((*out)->type != AM_GGUF_ARRAY)
		return wrong_type(g, key, (*out)->type, "array", err);
	if (i >= (*out)->count)
		return am_err_at(err, AM_EINVAL, g->name, 0, 0,
		                 "metadata array '%s': index %" PRIu64 " out of range (%" PRIu64
		                 " elements)",
		                 key, i, (*out)->count);
	return 0;
}

int am_gguf_array_str_at(const struct am_gguf *g, const char *key, uint64_t i,
                         struct am_gguf_str *out, struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = array_elem(g, key, i, &kv, err);
	if (rc < 0)
		return rc;
	if (kv->elem != AM_GGUF_STRING)
		return am_err_at(err, AM_EINVAL, g->name, 0, 0,
		                 "metadata array '%s' holds %s, expected string", key,
		                 vtype_name(kv->elem));
	const uint8_t *rec = kv->arr + kv->str_off[i];
	out->len = le64(rec);
	out->ptr = (const char *)rec + 8;
	return 0;
}

int am_gguf_array_f64_at(const struct am_gguf *g, const char *key, uint64_t i, double *out,
                         struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = array_elem(g, key, i, &kv, err);
	if (rc < 0)
		return rc;
	size_t sz = vtype_size(kv->elem);
	const uint8_t *p = kv->arr + (size_t)i * sz;
	if (kv->elem == AM_GGUF_F32 || kv->elem == AM_GGUF_F64) {
		*out = read_float(kv->elem, p);
		return 0;
	}
	bool sgn;
	uint64_t u;
	int64_t s;
	if (!sz || !read_int(kv->elem, p, &sgn, &u, &s))
		return am_err_at(err, AM_EINVAL, g->name, 0, 0,
		                 "metadata array '%s' holds %s, expected numbers", key,
		                 vtype_name(kv->elem));
	*out = sgn ? (double)s : (double)u;
	return 0;
}

int am_gguf_array_i64_at(const struct am_gguf *g, const char *key, uint64_t i, int64_t *out,
                         struct am_err *err)
{
	const struct gguf_kv *kv;
	int rc = array_elem(g, key, i, &kv, err);
	if (rc < 0)
		return rc;
	size_t sz = vtype_size(kv->elem);
	const uint8_t *p = kv->arr + (size_t)i * sz;
	if (kv->elem == AM_GGUF_BOOL) {
		*out = p[0];
		return 0;
	}
	bool sgn;
	uint64_t u;
	int64_t s;
	if (!sz || !read_int(kv->elem, p, &sgn, &u, &s))
		return am_err_at(err, AM_EINVAL, g->name, 0, 0,
		                 "metadata array '%s' holds %s, expected integers", key,
		                 vtype_name(kv->elem));
	if (!sgn) {
		if (u > (uint64_t)INT64_MAX)
			return am_err_at(err, AM_EINVAL, g->name, 0, 0,
			                 "metadata array '%s'[%" PRIu64 "] does not fit in i64",
			                 key, i);
		s = (int64_t)u;
	}
	*out = s;
	return 0;
}

struct type_info {
	enum am_ggml_type type;
	const char *name;
	uint16_t block_elems;
	uint16_t block_bytes;
};

/* ggml's block geometry of each type (checked against the gguf PyPI package's
 * GGML_QUANT_SIZES by tests/engine/gguf_peer.py). Q8_1 is left out on purpose: it is a
 * compute-time type that no converter writes, and gguf-py (40 bytes) and ggml (36 bytes)
 * disagree on its block size, so a file claiming it is ambiguous and rejected. */
static const struct type_info type_infos[] = {
    {AM_GGML_F32, "F32", 1, 4},           {AM_GGML_F16, "F16", 1, 2},
    {AM_GGML_Q4_0, "Q4_0", 32, 18},       {AM_GGML_Q4_1, "Q4_1", 32, 20},
    {AM_GGML_Q5_0, "Q5_0", 32, 22},       {AM_GGML_Q5_1, "Q5_1", 32, 24},
    {AM_GGML_Q8_0, "Q8_0", 32, 34},       {AM_GGML_Q2_K, "Q2_K", 256, 84},
    {AM_GGML_Q3_K, "Q3_K", 256, 110},     {AM_GGML_Q4_K, "Q4_K", 256, 144},
    {AM_GGML_Q5_K, "Q5_K", 256, 176},     {AM_GGML_Q6_K, "Q6_K", 256, 210},
    {AM_GGML_Q8_K, "Q8_K", 256, 292},     {AM_GGML_IQ2_XXS, "IQ2_XXS", 256, 66},
    {AM_GGML_IQ2_XS, "IQ2_XS", 256, 74},  {AM_GGML_IQ3_XXS, "IQ3_XXS", 256, 98},
    {AM_GGML_IQ1_S, "IQ1_S", 256, 50},    {AM_GGML_IQ4_NL, "IQ4_NL", 32, 18},
    {AM_GGML_IQ3_S, "IQ3_S", 256, 110},   {AM_GGML_IQ2_S, "IQ2_S", 256, 82},
    {AM_GGML_IQ4_XS, "IQ4_XS", 256, 136}, {AM_GGML_I8, "I8", 1, 1},
    {AM_GGML_I16, "I16", 1, 2},           {AM_GGML_I32, "I32", 1, 4},
    {AM_GGML_I64, "I64", 1, 8},           {AM_GGML_F64, "F64", 1, 8},
    {AM_GGML_IQ1_M, "IQ1_M", 256, 56},    {AM_GGML_BF16, "BF16", 1, 2},
    {AM_GGML_TQ1_0, "TQ1_0", 256, 54},    {AM_GGML_TQ2_0, "TQ2_0", 256, 66},
    {AM_GGML_MXFP4, "MXFP4", 32, 17},     {AM_GGML_NVFP4, "NVFP4", 64, 36},
    {AM_GGML_Q1_0, "Q1_0", 128, 18},
};

static const struct type_info *type_info(enum am_ggml_type t)
{
	for (size_t i = 0; i < AM_ARRAY_LEN(type_infos); i++)
		if (type_infos[i].type == t)
			return &type_infos[i];
	return NULL;
}

size_t am_ggml_block_elems(enum am_ggml_type t)
{
	const struct type_info *ti = type_info(t);
	return ti ? ti->block_elems : 0;
}

size_t am_ggml_block_bytes(enum am_ggml_type t)
{
	const struct type_info *ti = type_info(t);
	return ti ? ti->block_bytes : 0;
}

const char *am_ggml_type_name(enum am_ggml_type t)
{
	const struct type_info *ti = type_info(t);
	return ti ? ti->name : "unknown";
}
