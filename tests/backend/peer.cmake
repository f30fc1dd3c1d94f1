# Peer tests of amlab's HTTP clients against real third-party servers (docs/peers.md).
# LiteLLM's proxy (pinned in tests/backend/peer_litellm_requirements.txt, installed into its own
# virtual environment because it needs openai<3 while the rest of the test tooling pins openai 3)
# turns amlab's Anthropic Messages requests into OpenAI Chat Completions for an upstream server:
# a scripted recorder, and `amlab serve` over a replay model.
add_executable(peer_litellm_driver ${CMAKE_CURRENT_SOURCE_DIR}/backend/peer_litellm_driver.c)
target_link_libraries(peer_litellm_driver PRIVATE amlab_backend)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME backend/peer_litellm
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/backend/peer_litellm.py
                 $<TARGET_FILE:peer_litellm_driver> $<TARGET_FILE:amlab>)
set_tests_properties(backend/peer_litellm PROPERTIES
                     ENVIRONMENT "${AMLAB_TEST_ENV};AMLAB_TEST_LOOPBACK_ONLY=1;NO_PROXY=*;no_proxy=*"
                     LABELS "backend;peer" TIMEOUT 300 SKIP_RETURN_CODE 77)
