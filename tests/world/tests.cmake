# World tests beyond tests/world/test_*.c: the native tool definitions amlab emits, validated
# against the official `openai` and `anthropic` Python clients' types (pinned in
# scripts/requirements-test.txt).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_executable(tools_dump ${CMAKE_CURRENT_SOURCE_DIR}/world/tools_dump.c)
target_include_directories(tools_dump PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(tools_dump PRIVATE amlab_world)
add_test(NAME world/tools_python_clients
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/world/peer_tools.py
                 $<TARGET_FILE:tools_dump>)
set_tests_properties(world/tools_python_clients PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS world TIMEOUT 120)

# The unified diffs of file changes applied with GNU patch to random text pairs.
add_executable(diff_tool ${CMAKE_CURRENT_SOURCE_DIR}/world/diff_tool.c)
target_link_libraries(diff_tool PRIVATE amlab_world)
add_test(NAME world/diff_gnu_patch
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/world/peer_diff.py
                 $<TARGET_FILE:diff_tool>)
set_tests_properties(world/diff_gnu_patch PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS world TIMEOUT 300)
