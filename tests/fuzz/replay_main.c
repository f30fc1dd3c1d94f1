/* replay_main.c: run a libFuzzer target over every file of a corpus directory, so the corpus
 * is a regression test in ordinary (sanitizer) builds. Fails if the directory is empty. */
#include <dirent.h>

#include "amlab/alloc.h"
#include "amlab/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int files = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct am_buf path = AM_BUF_INIT, data = AM_BUF_INIT;
		if (am_buf_printf(&path, NULL, "%s/%s", argv[1], de->d_name) < 0 ||
		    am_buf_read_file(&data, path.data, NULL) < 0) {
			fprintf(stderr, "cannot read %s/%s\n", argv[1], de->d_name);
			closedir(d);
			return 1;
		}
		/* libFuzzer hands targets a buffer of exactly `size` bytes; copy so ASan sees it
		 * so. */
		uint8_t *copy = am_memdup(data.data ? data.data : "", data.len);
		LLVMFuzzerTestOneInput(copy, data.len);
		am_free(copy);
		am_buf_free(&path);
		am_buf_free(&data);
		files++;
	}
	closedir(d);
	printf("replayed %d corpus files from %s\n", files, argv[1]);
	return files > 0 ? 0 : 1;
}
