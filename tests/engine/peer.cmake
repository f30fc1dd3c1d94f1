# Peer test of the inference engine against llama.cpp itself, through llama-cpp-python
# (docs/peers.md). pip builds llama.cpp from source (minutes), so it lives in its own virtual
# environment, build/llamacpp-venv, made by tests/engine/peer_llamacpp_setup.sh (`make peers`
# runs it); without it the test exits 77 and ctest reports it skipped. The logits and greedy
# runs use engine_probe_fast (model.cmake: the engine compiled -O2 without sanitizers), as the
# 256-position comparison would take minutes under ASan; tokenization goes through `amlab`.
add_test(NAME engine/peer_llamacpp
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/peer_llamacpp.py $<TARGET_FILE:amlab>
                 $<TARGET_FILE:engine_probe_fast>
                 ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
set_tests_properties(engine/peer_llamacpp PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS "engine;peer" TIMEOUT 600 SKIP_RETURN_CODE 77)
