/* cmd_version.c: `amlab version`. */
#include "amlab/cpu.h"
#include "amlab_version.h"
#include "cli.h"

const char cmd_version_usage[] =
    "usage: amlab version\n"
    "\n"
    "Print amlab's version, the git revision it was built from, the build type\n"
    "(Debug, Asan, Release, Fuzz) and the CPU features the kernels use on this machine.\n";

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage_error("version", "takes no arguments");
	printf("amlab %s\n", AMLAB_VERSION);
	printf("git revision: %s\n", AMLAB_GIT_REV);
	printf("build type: %s\n", AMLAB_BUILD_TYPE);
	printf("cpu features: %s\n", am_cpu_features_string());
	return AM_EXIT_OK;
}
