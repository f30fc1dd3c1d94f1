# eval's tests beyond tests/eval/test_*.c: statistics against SciPy reference values.
add_executable(eval_stats_tool ${CMAKE_CURRENT_SOURCE_DIR}/eval/stats_tool.c)
target_link_libraries(eval_stats_tool PRIVATE amlab_eval)
add_test(NAME eval/stats_ref
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/eval/stats_ref.py $<TARGET_FILE:eval_stats_tool>)
set_tests_properties(eval/stats_ref PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS eval)
