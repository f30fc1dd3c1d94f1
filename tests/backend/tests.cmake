# Backend tests beyond tests/backend/test_*.c: the official `openai` Python client (pinned in
# scripts/requirements-test.txt) against amlab's server over the toy model, plus curl; then the
# same through `amlab serve` proxying to it (the CLI end to end).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_executable(serve_fixture ${CMAKE_CURRENT_SOURCE_DIR}/backend/serve_fixture.c)
target_include_directories(serve_fixture PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(serve_fixture PRIVATE amlab_backend)
add_test(NAME backend/openai_python_client
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/backend/openai_client_peer.py
                 $<TARGET_FILE:serve_fixture> $<TARGET_FILE:amlab>)
set_tests_properties(backend/openai_python_client PROPERTIES
                     ENVIRONMENT "${AMLAB_TEST_ENV};AMLAB_TEST_LOOPBACK_ONLY=1;NO_PROXY=*;no_proxy=*"
                     LABELS backend TIMEOUT 300)

# The request bodies amlab builds, validated against the official clients' request types
# (openai's CompletionCreateParams, anthropic's MessageCreateParams) with pydantic.
add_executable(wire_dump ${CMAKE_CURRENT_SOURCE_DIR}/backend/wire_dump.c)
target_link_libraries(wire_dump PRIVATE amlab_backend)
add_test(NAME backend/wire_types_python_clients
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/backend/wire_types_peer.py
                 $<TARGET_FILE:wire_dump>)
set_tests_properties(backend/wire_types_python_clients PROPERTIES
                     ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS backend TIMEOUT 120)

# amlab serve over the embedded SmolLM2 (models/, put there by scripts/setup) on amlab's own
# engine, under the official openai client.
add_test(NAME backend/serve_local_smollm2_openai_client
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/backend/serve_local_peer.py
                 $<TARGET_FILE:amlab>)
set_tests_properties(backend/serve_local_smollm2_openai_client PROPERTIES
                     ENVIRONMENT "${AMLAB_TEST_ENV};NO_PROXY=*;no_proxy=*"
                     LABELS backend TIMEOUT 600)
include(${CMAKE_CURRENT_SOURCE_DIR}/backend/peer.cmake)
