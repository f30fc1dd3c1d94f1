/* serve_fixture.c: `amlab serve` over the toy model (toy_model.h), for peer tests with the
 * official Python clients. Prints "PORT <n>" on stdout once listening on 127.0.0.1 and serves
 * until its standard input closes. */
#include <curl/curl.h>

#include "amlab/json.h"
#include "amlab/serve.h"
#include "toy_model.h"

int main(void)
{
	am_json_init();
	struct toy_model *toy = toy_open();
	struct am_serve_options o = {.model_name = "toy-served"};
	struct am_server *s = NULL;
	struct am_err err = {0};
	if (am_serve_start(&toy->base, &o, &s, &err) < 0) {
		fprintf(stderr, "serve_fixture: %s\n", err.msg);
		am_model_close(&toy->base);
		return 1;
	}
	printf("PORT %d\n", am_serve_port(s));
	fflush(stdout);
	char buf[256];
	while (fread(buf, 1, sizeof(buf), stdin) > 0)
		;
	am_serve_stop(s);
	am_model_close(&toy->base);
	return 0;
}
