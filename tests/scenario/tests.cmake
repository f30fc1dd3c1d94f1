# Scenario tests beyond tests/scenario/test_*.c: the CLI (validate, suites, show) driven from
# Python, which also recomputes every held-out condition's hash independently.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME scenario/cli_peer
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/scenario/check_cli.py)
set_tests_properties(scenario/cli_peer PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS scenario TIMEOUT 300)
