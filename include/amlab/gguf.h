/* gguf.h: read-only GGUF v2/v3 files over mmap. Every count, offset, size and string is
 * checked against the file before use; hostile or truncated files are rejected with an error
 * naming the file and the offending field.
 *
 * Ownership: am_gguf_open() returns a handle that owns the mapping and its index; every pointer
 * it hands out (strings, arrays, tensor data) points into the mapping or the index and is
 * valid until am_gguf_close(). */
#ifndef AMLAB_GGUF_H
#define AMLAB_GGUF_H

#include "amlab/err.h"

/* Tensor types: the values are ggml's type ids as stored in GGUF files. */
enum am_ggml_type {
	AM_GGML_F32 = 0,
	AM_GGML_F16 = 1,
	AM_GGML_Q4_0 = 2,
	AM_GGML_Q4_1 = 3,
	AM_GGML_Q5_0 = 6,
	AM_GGML_Q5_1 = 7,
	AM_GGML_Q8_0 = 8,
	AM_GGML_Q8_1 = 9,
	AM_GGML_Q2_K = 10,
	AM_GGML_Q3_K = 11,
	AM_GGML_Q4_K = 12,
	AM_GGML_Q5_K = 13,
	AM_GGML_Q6_K = 14,
	AM_GGML_Q8_K = 15,
	AM_GGML_IQ2_XXS = 16,
	AM_GGML_IQ2_XS = 17,
	AM_GGML_IQ3_XXS = 18,
	AM_GGML_IQ1_S = 19,
	AM_GGML_IQ4_NL = 20,
	AM_GGML_IQ3_S = 21,
	AM_GGML_IQ2_S = 22,
	AM_GGML_IQ4_XS = 23,
	AM_GGML_I8 = 24,
	AM_GGML_I16 = 25,
	AM_GGML_I32 = 26,
	AM_GGML_I64 = 27,
	AM_GGML_F64 = 28,
	AM_GGML_IQ1_M = 29,
	AM_GGML_BF16 = 30,
	AM_GGML_TQ1_0 = 34,
	AM_GGML_TQ2_0 = 35,
	AM_GGML_MXFP4 = 39,
	AM_GGML_NVFP4 = 40,
	AM_GGML_Q1_0 = 41,
};

/* Metadata value types as stored in GGUF. */
enum am_gguf_vtype {
	AM_GGUF_U8 = 0,
	AM_GGUF_I8 = 1,
	AM_GGUF_U16 = 2,
	AM_GGUF_I16 = 3,
	AM_GGUF_U32 = 4,
	AM_GGUF_I32 = 5,
	AM_GGUF_F32 = 6,
	AM_GGUF_BOOL = 7,
	AM_GGUF_STRING = 8,
	AM_GGUF_ARRAY = 9,
	AM_GGUF_U64 = 10,
	AM_GGUF_I64 = 11,
	AM_GGUF_F64 = 12,
};

/* A string inside the mapping: NOT NUL-terminated. */
struct am_gguf_str {
	const char *ptr;
	uint64_t len;
};

struct am_gguf_tensor {
	struct am_gguf_str name;
	uint32_t n_dims;
	uint64_t ne[4]; /* elements per dimension, ne[0] fastest; unused dims are 1 */
	enum am_ggml_type type;
	uint64_t n_elements;
	uint64_t n_bytes;     /* checked: lies inside the file */
	const void *data;     /* into the mapping */
	uint64_t file_offset; /* byte offset of data from the start of the file */
};

struct am_gguf;

int am_gguf_open(const char *path, struct am_gguf **out, struct am_err *err);
/* Parse from memory (fuzzing, tests); the buffer must outlive the handle. */
int am_gguf_open_memory(const void *data, size_t size, const char *name, struct am_gguf **out,
                        struct am_err *err);
void am_gguf_close(struct am_gguf *g);

uint32_t am_gguf_version(const struct am_gguf *g);
size_t am_gguf_n_tensors(const struct am_gguf *g);
const struct am_gguf_tensor *am_gguf_tensor(const struct am_gguf *g, size_t i);
const struct am_gguf_tensor *am_gguf_find_tensor(const struct am_gguf *g, const char *name);

/* Metadata look-ups by key. Typed getters fail with AM_ENOTFOUND (missing) or AM_EINVAL (wrong
 * type, message names the key). Integer getters accept any integer type that fits. */
bool am_gguf_has(const struct am_gguf *g, const char *key);
int am_gguf_get_u64(const struct am_gguf *g, const char *key, uint64_t *out, struct am_err *err);
int am_gguf_get_i64(const struct am_gguf *g, const char *key, int64_t *out, struct am_err *err);
int am_gguf_get_f64(const struct am_gguf *g, const char *key, double *out, struct am_err *err);
int am_gguf_get_bool(const struct am_gguf *g, const char *key, bool *out, struct am_err *err);
int am_gguf_get_str(const struct am_gguf *g, const char *key, struct am_gguf_str *out,
                    struct am_err *err);
/* Arrays: element type and count; elements read with the *_at getters. */
int am_gguf_get_array(const struct am_gguf *g, const char *key, enum am_gguf_vtype *elem_type,
                      uint64_t *count, struct am_err *err);
int am_gguf_array_str_at(const struct am_gguf *g, const char *key, uint64_t i,
                         struct am_gguf_str *out, struct am_err *err);
int am_gguf_array_f64_at(const struct am_gguf *g, const char *key, uint64_t i, double *out,
                         struct am_err *err);
int am_gguf_array_i64_at(const struct am_gguf *g, const char *key, uint64_t i, int64_t *out,
                         struct am_err *err);

/* Enumerating the metadata (dumps, tests): the i-th key in file order and its value type
 * (AM_GGUF_ARRAY for arrays; see am_gguf_get_array for the element type). Keys never contain
 * NUL bytes (rejected at open), so they can be copied into C strings for the getters. */
size_t am_gguf_n_kv(const struct am_gguf *g);
int am_gguf_kv_at(const struct am_gguf *g, size_t i, struct am_gguf_str *key,
                  enum am_gguf_vtype *type, struct am_err *err);
/* The data section: its file offset and the alignment (general.alignment, default 32). */
uint64_t am_gguf_data_offset(const struct am_gguf *g);
uint32_t am_gguf_alignment(const struct am_gguf *g);
/* The name given at open (the path, or the name passed to am_gguf_open_memory). */
const char *am_gguf_name(const struct am_gguf *g);
/* Copy a string value into a NUL-terminated am_malloc'd C string (caller frees); fails with
 * AM_EINVAL if it contains a NUL byte. */
int am_gguf_get_cstr(const struct am_gguf *g, const char *key, char **out, struct am_err *err);

/* Block geometry of a tensor type: elements per block and bytes per block (0 if unknown; the
 * reader rejects tensors of unknown types, and Q8_1, a compute-only type of ambiguous size). */
size_t am_ggml_block_elems(enum am_ggml_type t);
size_t am_ggml_block_bytes(enum am_ggml_type t);
const char *am_ggml_type_name(enum am_ggml_type t);

#endif
