# eval's tests beyond tests/eval/test_*.c: statistics against SciPy reference values.
add_executable(eval_stats_tool ${CMAKE_CURRENT_SOURCE_DIR}/eval/stats_tool.c)
target_link_libraries(eval_stats_tool PRIVATE amlab_eval)
add_test(NAME eval/stats_ref
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/eval/stats_ref.py $<TARGET_FILE:eval_stats_tool>)
set_tests_properties(eval/stats_ref PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS eval)

# The HTML report in headless Chromium (Debian package `chromium`): a hostile transcript runs
# no script, and a screenshot (left in build/eval-browser/) shows the charts.
add_executable(eval_report_html_tool ${CMAKE_CURRENT_SOURCE_DIR}/eval/report_html_tool.c)
target_include_directories(eval_report_html_tool PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(eval_report_html_tool PRIVATE amlab_eval)
add_test(NAME eval/report_browser
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/eval/report_browser.py
                 $<TARGET_FILE:eval_report_html_tool> ${CMAKE_BINARY_DIR}/eval-browser)
set_tests_properties(eval/report_browser PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS eval
                     TIMEOUT 300)

# kill -9 at several moments of a real `amlab eval` process, then --resume: no finished episode
# lost or run twice, results equal to an uninterrupted run.
add_test(NAME eval/kill_resume COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/eval/kill_resume.py)
set_tests_properties(eval/kill_resume PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS eval
                     TIMEOUT 600)

# The golden JSON report's numbers recomputed independently with SciPy.
add_test(NAME eval/report_ref COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/eval/report_ref.py)
set_tests_properties(eval/report_ref PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS eval)

# The eval commands as a user runs them: exit codes, messages, every report format.
add_test(NAME eval/eval_cli COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/eval/eval_cli.py)
set_tests_properties(eval/eval_cli PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS eval
                     TIMEOUT 600)
