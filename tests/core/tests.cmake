# Core tests beyond tests/core/test_*.c: the RNG against an independent Python implementation.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME core/rng_python_reference
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/core/rng_reference.py
                 $<TARGET_FILE:test_rng>)
set_tests_properties(core/rng_python_reference PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS core)
