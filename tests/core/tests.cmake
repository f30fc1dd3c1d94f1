# Core tests beyond tests/core/test_*.c: the RNG against an independent Python implementation.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME core/rng_python_reference
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/core/rng_reference.py
                 $<TARGET_FILE:test_rng>)
set_tests_properties(core/rng_python_reference PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS core)

# The compile-time ban of unsafe libc calls (include/amlab/banned.h) holds for this compiler.
add_test(NAME core/banned_calls
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/core/banned_check.sh ${CMAKE_C_COMPILER}
                 ${CMAKE_SOURCE_DIR}/include)
set_tests_properties(core/banned_calls PROPERTIES LABELS core)
